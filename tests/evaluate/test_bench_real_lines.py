"""benchmarks/bench_real_lines.py: each set's scoring rule, and a smoke run at tiny sizes on a
stand-in lines folder (the real sets are not part of a clone; timings are never asserted)."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, word_image, write_file

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
import bench_real_lines as bench  # noqa: E402


def test_sroie_is_scored_upper_cased_with_spaces_and_funsd_also_normalized():
    sroie = bench.score("SROIE", [("a", "TOTAL GST:", "Total GST:"), ("b", "CASH", "CA SH")])
    assert sroie["line_accuracy"] == 50.0 and sroie["cer"] == round(100 * 1 / 14, 2)
    funsd = bench.score("FUNSD", [("a", "Date: 12", "date:12"), ("b", "To", "To")])
    assert funsd["line_accuracy"] == 50.0  # exact match: case and spaces count
    assert funsd["normalized_accuracy"] == 100.0 and funsd["normalized_cer"] == 0.0
    assert bench.score("FUNSD", []) == {"lines": 0}


def test_the_benchmark_runs_at_tiny_sizes(tmp_path):
    for name, texts in (("SROIE2019_lines", ["HELLO", "WORLD"]), ("FUNSD_lines", ["Hello"])):
        folder = tmp_path / name
        rows = []
        for i, text in enumerate(texts):
            write_file(folder / "images" / f"{i}.png", word_image(text.lower(), fmt="PNG"))
            rows.append(f"images/{i}.png {text}\n")
        (folder / "test.txt").write_text("".join(rows), encoding="utf-8")
        (folder / "test_unseen_text.txt").write_text(rows[0], encoding="utf-8")
    out = tmp_path / "lines.json"
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_real_lines.py"),
                          "--lines_dir", str(tmp_path), "--model", os.path.join(ROOT, "models",
                                                                                "crnn_en"),
                          "--beam_width", "0", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["sets"]["SROIE"]["all"]["lines"] == 2
    assert result["sets"]["SROIE"]["unseen_text"]["lines"] == 1
    assert "normalized_accuracy" in result["sets"]["FUNSD"]["all"]
    assert [e["label"] for e in result["sets"]["SROIE"]["examples"]] == ["HELLO", "WORLD"]
