"""Benchmark: tools/generate_synthetic.py rendering speed (images/s written to disk).

    .venv/bin/python benchmarks/bench_generate.py                      # 4000 images, 3 repeats
    .venv/bin/python benchmarks/bench_generate.py --count 500 --repeats 1   # smoke

Runs ``python tools/generate_synthetic.py --count N --num_workers W --style S
--progress=false`` into a temporary folder for W = 1 and every core (--workers), S in --styles
(mjsynth, clean, scene), round-robin, --repeats times each; --fonts_dir passes a pool. Reported
per configuration (medians, with every run): rendering images/s (generate.json's
render_images_per_second: rendering, JPEG encoding, writing files, without reading the font
pool), in-process images/s (font discovery included) and whole-process wall time (interpreter
start and imports included).
--against DIR also runs another checkout's tool (e.g. `git worktree add /tmp/old <commit>`)
on every configuration, alternating with this one, and reports this / that rate ratios.
Prints one JSON object and writes it to benchmarks/results/generate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bench_create_tfrecord import REPO, RESULTS, emit, machine_info  # noqa: E402

TOOL = os.path.join(REPO, "tools", "generate_synthetic.py")


def run_once(count: int, workers: int, style: str, fonts_dir: str = "", repo: str = REPO
             ) -> dict:
    out = tempfile.mkdtemp(prefix="bench_generate_")
    tool = os.path.join(repo, "tools", "generate_synthetic.py")
    try:
        start = time.perf_counter()
        subprocess.run([sys.executable, tool, "--output_dir", out, "--count", str(count),
                        "--num_workers", str(workers), "--style", style, "--progress=false",
                        *(["--fonts_dir", fonts_dir] if fonts_dir else [])],
                       check=True, capture_output=True, cwd=repo,
                       env={**os.environ, "PYTHONPATH": repo})
        wall = time.perf_counter() - start
        with open(os.path.join(out, "generate.json"), encoding="utf-8") as f:
            summary = json.load(f)
        if summary["images"] != count:
            raise SystemExit(f"wrote {summary['images']} of {count} images")
        return {"render_images_per_second": summary["render_images_per_second"],
                "images_per_second": summary["images_per_second"],
                "wall_images_per_second": round(count / wall, 1)}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--styles", default="mjsynth,clean,scene")
    parser.add_argument("--workers", default="", help="comma-separated (default: 1 and all)")
    parser.add_argument("--fonts_dir", default="", help="font pool (default: the pip pool)")
    parser.add_argument("--against", default="", help="another checkout to time alongside")
    parser.add_argument("--out", default=os.path.join(RESULTS, "generate.json"))
    args = parser.parse_args()
    repos = {"this": REPO, **({"against": os.path.abspath(args.against)} if args.against else {})}
    cores = len(os.sched_getaffinity(0))
    workers = [int(w) for w in args.workers.split(",")] if args.workers else sorted({1, cores})
    configs = [(w, s) for s in args.styles.split(",") for w in workers]
    runs: dict = {f"{s}_workers{w}{'' if c == 'this' else '_against'}": []
                  for w, s in configs for c in repos}
    for _ in range(args.repeats):
        for w, s in configs:
            for code, repo in repos.items():
                runs[f"{s}_workers{w}{'' if code == 'this' else '_against'}"].append(
                    run_once(args.count, w, s, args.fonts_dir, repo))
    results = {}
    for name, rs in runs.items():
        results[name] = {
            "render_images_per_second_median": statistics.median(
                r["render_images_per_second"] for r in rs),
            "images_per_second_median": statistics.median(r["images_per_second"] for r in rs),
            "wall_images_per_second_median": statistics.median(
                r["wall_images_per_second"] for r in rs),
            "runs": rs,
        }
    for name in [n for n in results if n + "_against" in results]:
        results[name]["render_rate_vs_against"] = round(
            results[name]["render_images_per_second_median"]
            / results[name + "_against"]["render_images_per_second_median"], 3)
    emit({"benchmark": "generate_synthetic", "count": args.count, "repeats": args.repeats,
          "fonts_dir": args.fonts_dir or "the pip pool", "against": repos.get("against", ""),
          "machine": machine_info(), "results": results}, args.out)


if __name__ == "__main__":
    main()
