"""Benchmark: training images/s of the real training step on CPU, by preset.

    .venv/bin/python benchmarks/bench_train_cpu.py     # small + paper x fp32 + bf16, 3 runs
    .venv/bin/python benchmarks/bench_train_cpu.py --presets small --precisions off,bf16 \
        --steps 10 --repeats 1

What is timed: ``crnn_ctc.train.loop.make_train_step``, the step tools/train_crnn_ctc.py runs
(forward, CTC loss, backward, clipped Adam update), on one synthetic batch held in memory
(random images in [-1, 1], random labels of 3-10 of 36 symbols), so no input pipeline is timed.
Each (preset, repeat) runs in its own process, presets round-robin, so a slow phase of a shared
machine hits all alike. Per run: ``--warmup`` untimed steps (tracing), then ``--steps`` steps,
each ended by fetching the loss to the host; img/s = batch / step time. Reported per preset: the
median over all timed steps of all runs, the per-run medians, min and max, per precision
(``--precisions``: --mixed_precision settings) with the ratio to fp32 of the same run.

The fp32 roofline and per-part profile study (why the paper model trains at ~41 img/s on 2 cores)
is a note in BENCHMARKS.md with the command that reproduces it.
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
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import RESULTS, emit, machine_info  # noqa: E402

# A/B variants: what the training step used before an adopted speed-up, to keep measuring it.
VARIANTS = ("default", "keras_bn", "dense_ctc", "keras_bn+dense_ctc")


def run_worker(preset: str, precision: str, batch: int, steps: int, warmup: int,
               seed: int, variant: str = "default") -> dict:
    """One process: build the preset's model and time its training step."""
    import keras  # noqa: PLC0415
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.model import crnn, ctc_loss  # noqa: PLC0415
    from crnn_ctc.train import config, loop, optimizer, presets, strategy  # noqa: PLC0415

    cfg = config.override(presets.get(preset), {"batch_size": batch,
                                                "mixed_precision": precision})
    chosen = strategy.set_precision(cfg)
    if "keras_bn" in variant:  # Keras' own batch norm instead of crnn.FusedBatchNorm
        crnn.FusedBatchNorm = keras.layers.BatchNormalization
    if "dense_ctc" in variant:  # the dense-label CTC implementation instead of the kernel
        ctc_loss.SPARSE = False
    rng = np.random.default_rng(seed)
    num_classes, steps_t = 37, cfg.time_steps
    labels = np.full((batch, steps_t), -1, np.int32)
    lengths = rng.integers(3, 11, batch).astype(np.int32)
    for i, n in enumerate(lengths):
        labels[i, :n] = rng.integers(0, num_classes - 1, n)
    images = rng.uniform(-1, 1, (batch, cfg.image_height, cfg.image_width, 3)).astype(np.float32)
    batch_data = {"image": images, "labels": labels, "label_length": lengths}
    dist = tf.distribute.get_strategy()
    model = crnn.build_crnn(cfg, num_classes)
    opt = optimizer.make_optimizer(cfg, 10_000, chosen.loss_scaling)
    step = loop.make_train_step(dist, model, opt, cfg, num_classes - 1, chosen.loss_scaling)
    iterator = iter(tf.data.Dataset.from_tensors(batch_data).repeat())
    times = []
    for k in range(warmup + steps):
        start = time.perf_counter()
        loss, _ = step(iterator)
        float(loss)  # the host waits for the step
        if k >= warmup:
            times.append(time.perf_counter() - start)
    return {"preset": preset, "precision": chosen.policy, "variant": variant, "batch": batch,
            "params": model.count_params(),
            "img_s": [batch / t for t in times]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--presets", default="small,paper")
    p.add_argument("--precisions", default="off,bf16",
                   help="--mixed_precision settings to time, each with every preset")
    p.add_argument("--variants", default="default",
                   help=f"A/B variants to time, each with every preset and precision: {VARIANTS}")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(RESULTS, "train_cpu.json"))
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one timed run
    p.add_argument("--precision", default="off", help=argparse.SUPPRESS)
    p.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.precision, args.batch, args.steps,
                                    args.warmup, args.seed, args.variant)))
        return 0
    runs: dict = {(name, prec, var): [] for name in args.presets.split(",")
                  for prec in args.precisions.split(",") for var in args.variants.split(",")}
    for repeat in range(args.repeats):
        for name, prec, var in runs:
            cmd = [sys.executable, os.path.abspath(__file__), "--worker", name, "--precision",
                   prec, "--variant", var, "--batch", str(args.batch), "--steps",
                   str(args.steps), "--warmup", str(args.warmup), "--seed", str(args.seed + repeat)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.stderr.write(done.stderr[-3000:])
                return 1
            runs[name, prec, var].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{name} {prec} {var} run {repeat + 1}: "
                  f"{statistics.median(runs[name, prec, var][-1]['img_s']):.1f} img/s",
                  file=sys.stderr)
    presets_out: dict = {}
    for (name, prec, var), results in runs.items():
        every = [v for r in results for v in r["img_s"]]
        key = prec if var == "default" else f"{prec}/{var}"
        presets_out.setdefault(name, {})[key] = {
            "batch": args.batch, "params": results[0]["params"],
            "policy": results[0]["precision"],
            "img_s_median": round(statistics.median(every), 1),
            "img_s_run_medians": [round(statistics.median(r["img_s"]), 1) for r in results],
            "img_s_min": round(min(every), 1), "img_s_max": round(max(every), 1),
            "timed_steps": len(every),
        }  # fmt: skip
    for by_prec in presets_out.values():  # ratios within this run: machines compare
        base = by_prec.get("off", {}).get("img_s_median")
        for entry in by_prec.values():
            if base:
                entry["vs_fp32"] = round(entry["img_s_median"] / base, 2)
    emit({"benchmark": "train_cpu", "machine": machine_info(), "steps": args.steps,
          "warmup": args.warmup, "repeats": args.repeats, "presets": presets_out}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
