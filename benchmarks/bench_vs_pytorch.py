"""Benchmark: our CRNN against a PyTorch eager CRNN of the same shape, same CPU, one run.

    .venv/bin/python benchmarks/bench_vs_pytorch.py                    # paper, 3 repeats
    .venv/bin/python benchmarks/bench_vs_pytorch.py --presets paper,small
    .venv/bin/python benchmarks/bench_vs_pytorch.py --repeats 1 --steps 3 --warmup 1 \
        --requests 20 --batches 2                                      # smoke test

PyTorch is not a project dependency: the first run makes a venv of its own (--torch_venv,
default <repo>/.bench-venv-torch, git-ignored) with ``pip install torch==2.13.0 numpy``, from
the PyTorch CPU wheel index when it answers and from plain PyPI otherwise (PyPI's Linux wheel
brings CUDA libraries along; they are not used), and reuses it after. The PyTorch model and its
timing are benchmarks/torch_crnn.py, which runs in that venv and imports only torch, numpy and
the standard library; its docstring gives the layer-by-layer shape and why the parameter counts
differ by convention (BN running statistics, LSTM's second bias) but not in substance.

What is timed, per preset (``--presets``, paper by default), PyTorch in fp32:
  train     ours: bench_train_cpu.run_worker, the step tools/train_crnn_ctc.py runs
            (loop.make_train_step: forward, CTC loss, backward, global-norm clip 5, Adam) under
            --mixed_precision auto (--precision; fp32 on a CPU without AVX512-BF16 or AMX).
            torch: forward, F.ctc_loss, backward, clip_grad_norm_(5), Adam. Both on the same
            synthetic batch in memory (the same draws: --batch images
            uniform in [-1, 1], 3-10 random labels of 36 symbols), --warmup untimed steps
            then --steps timed ones, each ended by reading the loss on the host -> img/s.
  serve     ours: the exported SavedModel's serving_default (exported as
            tools/export_crnn_ctc.py does, random weights, beam search width 10 = the export
            default), via bench_serving.export_variant / measure: JPEG word crops of varied
            sizes (bench_create_tfrecord's corpus) in, text out. torch: forward + greedy CTC
            decode (argmax, collapse repeats, drop blanks, to text) of an already
            preprocessed (1|64, 3, 32, 100) tensor, in model.eval() + torch.inference_mode().
            Batch 1: --requests calls -> p50 / p99 ms; batch 64: --batches calls -> images/s
            (median of calls); 20 warm-up calls of batch 1 and one of batch 64 first.

Why it is fair: the same network (layers, widths, 8.73M / 1.15M parameters), the same input
size, dtype and batch, the same cores (torch.set_num_threads = the cores this process may use;
TensorFlow's default thread pools are that size too), the same timer and the same summary
statistics; every measurement is its own fresh process, and they run round-robin (ours and
torch alternating, the order reversed on odd repeats, --repeats rounds) so a slow phase of a
shared machine hits both sides alike. What differs, on purpose, in serving: ours does more
work per call -- in-graph checks, JPEG decode, resize to 32x100, normalisation, beam search
of width 10 and the charset lookup -- where torch gets the preprocessed tensor and decodes
greedily. That is the comparison the issue asks for: "batch-1 latency of serving_default from
JPEG bytes with beam 10 ... at most the PyTorch eager CRNN's batch-1 forward with greedy
decode". Training differs only in framework: our step is a tf.function graph, torch's eager.

Reported per preset: medians (training: over all timed steps of all runs, as
bench_train_cpu.py; serving: over the runs' p50 / p99 / images/s, as bench_serving.py), every
run, and ratios where > 1 means ours is faster: training img/s ours/torch, batch-1 latency
torch/ours (p50 and p99), batch-64 images/s ours/torch. ``b1_p50_ours_le_torch`` is the issue's
criterion. Results go to stdout and benchmarks/results/vs_pytorch.json (--out); progress to
stderr. Run it on an otherwise idle machine: torch's OpenMP threads wait for each other at
every op, so one busy core slows its many small batch-1 ops (25 LSTM steps x 2 directions x 2
layers) by an order of magnitude or more; the load average before and after is in the JSON,
and a busy start is warned about.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import REPO, RESULTS, emit, machine_info  # noqa: E402
from bench_serving import export_variant, load_images, measure  # noqa: E402
from bench_train_cpu import run_worker  # noqa: E402

TORCH_VERSION = "2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_WORKER = os.path.join(HERE, "torch_crnn.py")
SERVE_VARIANT = "beam10"  # bench_serving.VARIANTS: beam width 10, the fused serving graph


# -- the PyTorch venv ----------------------------------------------------------------------
def _torch_ok(python: str) -> bool:
    if not os.path.exists(python):
        return False
    check = (f"import numpy, torch; assert torch.__version__.split('+')[0] == '{TORCH_VERSION}'")
    return subprocess.run([python, "-c", check], capture_output=True, check=False).returncode == 0


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10):
            return True
    except OSError:
        return False


def ensure_torch_venv(venv: str) -> str:
    """-> the venv's python, with torch==TORCH_VERSION and numpy (made once, then reused)."""
    python = os.path.join(venv, "bin", "python")
    if _torch_ok(python):
        return python
    print(f"making {venv} with torch=={TORCH_VERSION} (once)", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    wanted = [f"torch=={TORCH_VERSION}", "numpy"]
    done = None
    if _reachable(TORCH_CPU_INDEX + "/torch/"):
        done = subprocess.run(pip + ["--index-url", TORCH_CPU_INDEX, "--retries", "1",
                                     "--timeout", "30", *wanted], check=False)  # fmt: skip
    if done is None or done.returncode != 0:
        print(f"{TORCH_CPU_INDEX} not reachable or failed: plain PyPI", file=sys.stderr)
        subprocess.run(pip + wanted, check=True)
    if not _torch_ok(python):
        raise SystemExit(f"{venv}: torch=={TORCH_VERSION} did not install")
    return python


# -- workers (each its own process) --------------------------------------------------------
def serve_worker(preset: str, requests: int, batches: int, seed: int) -> dict:
    """One process: export the preset (random weights, beam 10), time serving_default."""
    images = load_images(64, seed)
    with tempfile.TemporaryDirectory() as tmp:
        fn, _loaded = export_variant(preset, SERVE_VARIANT, tmp)
        return {"preset": preset, "variant": SERVE_VARIANT,
                **measure(fn, images, requests, batches)}  # fmt: skip


def _run(cmd: list[str]) -> dict:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _commands(args, torch_python: str, preset: str, seed: int) -> dict[str, list[str]]:
    me = [sys.executable, os.path.abspath(__file__), "--preset", preset, "--seed", str(seed)]
    torch_cmd = [torch_python, TORCH_WORKER, "--preset", preset, "--seed", str(seed)]
    train = ["--batch", str(args.batch), "--steps", str(args.steps), "--warmup",
             str(args.warmup)]  # fmt: skip
    serve = ["--requests", str(args.requests), "--batches", str(args.batches)]
    return {"ours_train": me + ["--worker", "train", "--precision", args.precision, *train],
            "torch_train": torch_cmd + ["--mode", "train", *train],
            "ours_serve": me + ["--worker", "serve", *serve],
            "torch_serve": torch_cmd + ["--mode", "infer", *serve]}  # fmt: skip


def _med(values) -> float:
    return statistics.median(values)


def summarize(runs: dict, batch: int) -> dict:
    ours_t, torch_t = runs["ours_train"], runs["torch_train"]
    ours_s, torch_s = runs["ours_serve"], runs["torch_serve"]

    def train_block(rs):
        every = [v for r in rs for v in r["img_s"]]
        return {"img_s_median": round(_med(every), 1),
                "img_s_run_medians": [round(_med(r["img_s"]), 1) for r in rs],
                "img_s_min": round(min(every), 1), "img_s_max": round(max(every), 1),
                "timed_steps": len(every)}  # fmt: skip

    def serve_block(rs):
        keys = ("p50_ms", "p99_ms", "batch64_images_per_second")
        return {**{k: _med(r[k] for r in rs) for k in keys},
                "runs": [{k: r[k] for k in keys} for r in rs]}

    ours = {"params": ours_t[0]["params"], "policy": ours_t[0]["precision"],
            "train": train_block(ours_t), "serve": serve_block(ours_s)}  # fmt: skip
    theirs = {k: torch_t[0][k] for k in ("params", "params_keras_convention",
                                         "bn_running_stats", "lstm_b_hh", "torch", "threads")}
    theirs.update({"train": train_block(torch_t), "serve": serve_block(torch_s)})
    ratio = {  # > 1: ours is faster
        "train_img_s_ours_over_torch": ours["train"]["img_s_median"]
        / theirs["train"]["img_s_median"],
        "b1_p50_torch_over_ours": theirs["serve"]["p50_ms"] / ours["serve"]["p50_ms"],
        "b1_p99_torch_over_ours": theirs["serve"]["p99_ms"] / ours["serve"]["p99_ms"],
        "b64_img_s_ours_over_torch": ours["serve"]["batch64_images_per_second"]
        / theirs["serve"]["batch64_images_per_second"],
    }
    return {
        "batch": batch,
        "params_match": ours["params"] == theirs["params_keras_convention"],
        "ours": ours,
        "torch": theirs,
        "ratios": {k: round(v, 2) for k, v in ratio.items()},
        "b1_p50_ours_le_torch": ours["serve"]["p50_ms"] <= theirs["serve"]["p50_ms"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--presets", default="paper", help="comma-separated: paper, small")
    p.add_argument("--repeats", type=int, default=3, help="round-robin rounds")
    p.add_argument("--batch", type=int, default=64, help="training batch")
    p.add_argument("--steps", type=int, default=20, help="timed training steps per run")
    p.add_argument("--warmup", type=int, default=3, help="untimed training steps per run")
    p.add_argument("--requests", type=int, default=300, help="batch-1 serving calls per run")
    p.add_argument("--batches", type=int, default=8, help="batch-64 serving calls per run")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", default="auto",
                   help="our training step's --mixed_precision (auto: bf16 where the CPU has it, "
                        "what a user gets); PyTorch stays fp32")
    p.add_argument("--torch_venv", default=os.path.join(REPO, ".bench-venv-torch"))
    p.add_argument("--out", default=os.path.join(RESULTS, "vs_pytorch.json"))
    p.add_argument("--worker", choices=("train", "serve"), help=argparse.SUPPRESS)  # internal
    p.add_argument("--preset", default="paper", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "train":
        print(json.dumps(run_worker(args.preset, args.precision, args.batch, args.steps,
                                    args.warmup, args.seed)))  # fmt: skip
        return 0
    if args.worker == "serve":
        print(json.dumps(serve_worker(args.preset, args.requests, args.batches, args.seed)))
        return 0
    presets = args.presets.split(",")
    bad = [name for name in presets if name not in ("paper", "small")]
    if bad:
        p.error(f"--presets: {bad} (torch_crnn.py has paper and small)")
    torch_python = ensure_torch_venv(os.path.abspath(args.torch_venv))
    load_images(64, args.seed)  # make the JPEG corpus now, outside any timed process
    load_start = os.getloadavg()
    if load_start[0] > 0.5:  # torch's OpenMP threads suffer most from a busy core
        print(f"warning: load average {load_start[0]:.2f}: the machine is not idle",
              file=sys.stderr)
    kinds = ("ours_train", "torch_train", "ours_serve", "torch_serve")
    runs = {name: {k: [] for k in kinds} for name in presets}
    for repeat in range(args.repeats):
        order = kinds if repeat % 2 == 0 else kinds[::-1]
        for name in presets:
            cmds = _commands(args, torch_python, name, args.seed + repeat)
            for kind in order:
                result = _run(cmds[kind])
                runs[name][kind].append(result)
                shown = (f"{_med(result['img_s']):.1f} img/s" if "img_s" in result else
                         f"b1 p50 {result['p50_ms']} ms, "
                         f"b64 {result['batch64_images_per_second']} img/s")
                print(f"{name} {kind} run {repeat + 1}: {shown}", file=sys.stderr)
    shown_args = {k: v for k, v in vars(args).items() if k not in ("worker", "preset")}
    emit({"benchmark": "vs_pytorch", "machine": machine_info(), "args": shown_args,
          "loadavg_start": load_start, "loadavg_end": os.getloadavg(),
          "ratios_note": "> 1 means ours is faster",
          "presets": {name: summarize(runs[name], args.batch) for name in presets}},
         args.out)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
