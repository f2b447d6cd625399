"""Convergence by precision: the same recipe trained in fp32 and in bf16, N runs each, same data.

    # the demo preset (rendered data and held-out fonts as tools/run_demo.py makes them):
    python tools/run_demo.py --work_dir demo            # once: demo/tfrecords, demo/synth_test
    python benchmarks/bench_precision_convergence.py --data_dir demo/tfrecords \
        --anno_file demo/synth_test/image_list.txt --preset demo
    # the crnn_en recipe for 20k steps, scored on real validation crops:
    python benchmarks/bench_precision_convergence.py --data_dir runs/crnn_en/tfrecords \
        --preset crnn_en --max_train_steps 20000 \
        --anno_file ../shared/real_train/val_list_photo_disjoint.txt

Run k of each precision uses --seed k (same initial weights, augmentation and data order for both
precisions), runs interleave (fp32 #0, bf16 #0, fp32 #1, ...) so a slow phase of a shared
machine hits both. Each run: tools/train_crnn_ctc.py --mixed_precision <p>, then
tools/eval_crnn_ctc.py of its best checkpoint on --anno_file (case-insensitive, letters and
digits). Reported per precision: the word accuracies and CERs of the runs, their mean and spread
(max - min); and whether the difference of the means is within the run-to-run spread (the larger
of the two precisions' spreads). Training times too: on a CPU without AVX512-BF16 / AMX, bf16 is
emulated and several times slower, so run this where bf16 is native.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from bench_create_tfrecord import REPO, RESULTS, emit, machine_info  # noqa: E402


def tool(name: str) -> str:
    return os.path.join(REPO, "tools", name)


def run_one(args, precision: str, seed: int) -> dict:
    run_dir = os.path.join(args.work_dir, f"{precision}-seed{seed}")
    train = [sys.executable, tool("train_crnn_ctc.py"), "--data_dir", args.data_dir,
             "--model_dir", run_dir, "--preset", args.preset, "--mixed_precision", precision,
             "--seed", str(seed)]
    if args.max_train_steps:
        train += ["--max_train_steps", str(args.max_train_steps)]
    start = time.perf_counter()
    with open(os.path.join(args.work_dir, f"{precision}-seed{seed}.log"), "w") as log:
        subprocess.run(train, check=True, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    out = os.path.join(args.work_dir, f"{precision}-seed{seed}.eval.json")
    subprocess.run([sys.executable, tool("eval_crnn_ctc.py"), "--model_dir", run_dir,
                    "--anno_file", args.anno_file, "--output_json", out], check=True,
                   capture_output=True)
    with open(out, encoding="utf-8") as f:
        total = json.load(f)["total"]
    return {"seed": seed, "word_accuracy": round(100 * total["word_accuracy"], 2),
            "cer": round(100 * total["cer"], 3), "train_seconds": round(seconds, 1)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data_dir", required=True)
    p.add_argument("--anno_file", required=True, help="held-out `path label` file to score on")
    p.add_argument("--preset", default="demo")
    p.add_argument("--max_train_steps", type=int, default=0, help="0 = the preset's")
    p.add_argument("--precisions", default="off,bf16")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--work_dir", default=os.path.join(REPO, "runs", "precision_convergence"))
    p.add_argument("--out", default=os.path.join(RESULTS, "precision_convergence.json"))
    args = p.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    precisions = args.precisions.split(",")
    runs: dict = {prec: [] for prec in precisions}
    for seed in range(args.runs):
        for prec in precisions:
            runs[prec].append(run_one(args, prec, seed))
            print(f"{prec} seed {seed}: {runs[prec][-1]}", file=sys.stderr)
    summary = {}
    for prec, results in runs.items():
        acc = [r["word_accuracy"] for r in results]
        summary[prec] = {"runs": results, "word_accuracy_mean": round(statistics.mean(acc), 2),
                         "word_accuracy_spread": round(max(acc) - min(acc), 2),
                         "train_seconds_median": statistics.median(
                             r["train_seconds"] for r in results)}
    result = {"benchmark": "precision_convergence", "machine": machine_info(),
              "preset": args.preset, "max_train_steps": args.max_train_steps or "preset",
              "data_dir": args.data_dir, "anno_file": args.anno_file, "precisions": summary}
    if len(precisions) == 2 and args.runs > 1:
        a, b = (summary[prec] for prec in precisions)
        spread = max(a["word_accuracy_spread"], b["word_accuracy_spread"])
        diff = round(b["word_accuracy_mean"] - a["word_accuracy_mean"], 2)
        result.update({"mean_difference_points": diff, "run_to_run_spread_points": spread,
                       "within_spread": abs(diff) <= spread})
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
