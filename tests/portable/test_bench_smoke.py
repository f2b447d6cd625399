"""Smoke test of benchmarks/bench_portable_threads.py at tiny sizes, so it cannot rot unnoticed
(the timings themselves are BENCHMARKS.md's, never asserted here)."""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_portable_threads_runs_at_tiny_sizes(tmp_path):
    out = tmp_path / "threads.json"
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks",
                                                       "bench_portable_threads.py"),
                          "--crops", "4", "--variants", "fp32", "--decoders", "greedy",
                          "--rounds", "1", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=600)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result["crops"] == 4 and result["mismatched_texts"] == {}
    rows = {(r["threads"], r["sharing"]): r for r in result["rows"]}
    assert set(rows) == {(1, "-"), (2, "pool"), (2, "lock")}
    assert rows[2, "lock"]["interpreters"] == 1 and rows[2, "pool"]["interpreters"] <= 2
    assert all(r["crops_per_s"] > 0 for r in rows.values())


def test_bench_serving_parts_runs_at_tiny_sizes(tmp_path):
    out = tmp_path / "parts.json"
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks",
                                                       "bench_serving_parts.py"),
                          "--presets", "demo", "--calls", "2", "--repeats", "1",
                          "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=900)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(out.read_text())
    for batch in (1, 64):
        parts = result["presets"]["demo"][f"batch{batch}_ms"]
        assert set(parts) == {"load", "to_input", "cnn", "rnn", "decode", "whole",
                              "per_call_overhead"}
        assert all(parts[p] > 0 for p in ("load", "cnn", "rnn", "decode", "whole"))
