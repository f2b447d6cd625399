"""tools/create_tfrecord.py as a user runs it: a subprocess on test_data/."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT, read_records

TOOL = os.path.join(ROOT, "tools", "create_tfrecord.py")


def run_tool(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, TOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_readme_example_on_test_data(tmp_path):
    out = tmp_path / "tfrecords"
    proc = run_tool(
        "--image_dir", "test_data", "--anno_file", "test_data/image_list.txt",
        "--data_dir", str(out), "--progress=false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(ROOT, "test_data", "image_list.txt"), encoding="utf-8") as f:
        expected = dict(line.rstrip("\n").split(" ", 1) for line in f)
    records = read_records(out)
    assert {path: rec[2] for path, rec in records.items()} == expected
    summary = json.loads((out / "dataset.json").read_text())
    assert summary["records"] == len(expected) == summary["lines"]
    assert summary["skipped_total"] == 0
    assert "wrote" in proc.stderr and "validation records" in proc.stderr


def test_strict_fails_when_something_was_skipped(tmp_path):
    anno = tmp_path / "list.txt"
    good = open(os.path.join(ROOT, "test_data", "image_list.txt"), encoding="utf-8").readline()
    anno.write_text(good + "images/missing.jpg nothing\n", encoding="utf-8")
    common = ["--image_dir", os.path.join(ROOT, "test_data"), "--anno_file", str(anno),
              "--progress=false", "--num_workers=1"]  # fmt: skip
    lenient = run_tool(*common, "--data_dir", str(tmp_path / "a"))
    strict = run_tool(*common, "--data_dir", str(tmp_path / "b"), "--strict")
    assert lenient.returncode == 0, lenient.stderr
    assert strict.returncode == 1
    assert "--strict: 1 lines were skipped" in strict.stderr
    assert len(read_records(tmp_path / "b")) == 1  # the good line is still written


def test_usage_errors_are_clear(tmp_path):
    proc = run_tool("--image_dir", "test_data", "--anno_file", "nope.txt")
    assert proc.returncode != 0
    assert "--anno_file 'nope.txt' is not a file" in proc.stderr
    proc = run_tool("--anno_file", "test_data/image_list.txt")
    assert proc.returncode != 0 and "--image_dir" in proc.stderr


def test_nothing_converted_exits_1(tmp_path):
    (tmp_path / "list.txt").write_text("images/missing.jpg x\n", encoding="utf-8")
    proc = run_tool("--image_dir", str(tmp_path), "--anno_file", str(tmp_path / "list.txt"),
                    "--data_dir", str(tmp_path / "out"), "--progress=false")  # fmt: skip
    assert proc.returncode == 1
    assert "no line could be converted" in proc.stderr
    assert "missing_file" in (tmp_path / "out" / "skipped.tsv").read_text()
