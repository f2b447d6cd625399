"""Benchmark: what text lines cost, in training and in serving.

    .venv/bin/python benchmarks/bench_lines_speed.py                       # training part only
    .venv/bin/python benchmarks/bench_lines_speed.py --model_dir runs/line \
        --portable exported/line/crnn_fp32.tflite,exported/line/crnn_int8.tflite

train  The line preset's training step (loop.make_train_step: forward, CTC loss over each
       line's own steps, backward, Adam) on batches of --batch lines whose widths follow the
       real line crops: label lengths drawn from text.LINE_LENGTHS (the real SROIE + FUNSD
       train lines' table), PX_PER_CHAR px a character at 32 px height (the measured median
       is 15.6), at most --width. "buckets": each batch's lines come from one 64 px width band
       (pipeline.BUCKET_WIDTH, bands drawn by their share of lines) and the batch is padded to
       its widest, as the training pipeline batches; "fixed": every batch padded to --width.
       Both modes see the same lines, alternate in rounds, and are timed after one untimed
       step per batch shape. Reported: img/s and characters/s (label characters per second),
       medians over every timed step, and the ratio buckets / fixed.
serve  With --model_dir (a keep_aspect run): one rendered 30-character line, read by the
       serving graph of the run's best checkpoint (Recognizer.from_checkpoint: JPEG bytes in,
       beam 10, text out) and by each --portable file (PortableRecognizer, beam 10 and
       greedy), at batch 1 (ms per call, median and p90 of --calls) and batch 64 (lines/s,
       median of --repeats calls), alternating between readers in rounds.
Prints JSON and writes benchmarks/results/lines_speed.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import RESULTS, emit, machine_info  # noqa: E402

PX_PER_CHAR = 16
LINE = "Invoice 2026-0412: Total $45.9"  # 30 characters


def line_batches(count: int, batch: int, width: int, seed: int):
    """``count`` batches as (widths, lengths) per mode: {"buckets": [...], "fixed": [...]},
    the same lines in both."""
    import numpy as np  # noqa: PLC0415

    from crnn_ctc.data import pipeline  # noqa: PLC0415
    from crnn_ctc.synth import text  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    lengths = np.array(list(text.LINE_LENGTHS))
    weights = np.array(list(text.LINE_LENGTHS.values()), float)
    limit = width // 4 // 2  # a label that fits its crop's steps with room for repeats
    n = rng.choice(lengths, count * batch * 4, p=weights / weights.sum())
    n = np.minimum(n, limit)
    w = np.minimum(width, np.maximum(4, (n * PX_PER_CHAR + 8 + 3) // 4 * 4))
    band = (w - 1) // pipeline.BUCKET_WIDTH
    out = {"buckets": [], "fixed": []}
    for _ in range(count):
        pick = rng.choice(band)  # a band, by its share of lines
        idx = rng.choice(np.flatnonzero(band == pick), batch)
        out["buckets"].append((w[idx], n[idx], int(w[idx].max())))
        out["fixed"].append((w[idx], n[idx], width))
    return out


def train_part(args) -> dict:
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.model import crnn  # noqa: PLC0415
    from crnn_ctc.train import config, loop, optimizer, presets, strategy  # noqa: PLC0415

    cfg = config.override(presets.line(), {"batch_size": args.batch, "image_width": args.width,
                                           "mixed_precision": args.precision})
    chosen = strategy.set_precision(cfg)
    classes = 96  # printable + blank
    model = crnn.build_crnn(cfg, classes)
    opt = optimizer.make_optimizer(cfg, 10_000, chosen.loss_scaling)
    step = loop.make_train_step(tf.distribute.get_strategy(), model, opt, cfg, classes - 1,
                                chosen.loss_scaling)
    rng = np.random.default_rng(args.seed)
    steps_t = cfg.time_steps

    def batch_of(widths, lengths, canvas):
        labels = np.full((len(widths), steps_t), -1, np.int32)
        for i, k in enumerate(lengths):
            labels[i, :k] = rng.integers(0, classes - 1, k)
        images = rng.uniform(-1, 1, (len(widths), cfg.image_height, canvas, 3)).astype(np.float32)
        return {"image": images, "width": widths.astype(np.int32), "labels": labels,
                "label_length": lengths.astype(np.int32)}

    plan = line_batches(args.steps, args.batch, args.width, args.seed)
    spec = {"image": tf.TensorSpec([None, cfg.image_height, None, 3], tf.float32),
            "width": tf.TensorSpec([None], tf.int32),
            "labels": tf.TensorSpec([None, steps_t], tf.int32),
            "label_length": tf.TensorSpec([None], tf.int32)}
    times: dict = {mode: [] for mode in plan}
    chars: dict = {mode: [] for mode in plan}
    for k in range(args.rounds + 1):  # round 0: one untimed step per batch shape (tracing)
        for mode, batches in plan.items():
            data = [batch_of(*b) for b in batches]
            iterator = iter(tf.data.Dataset.from_generator(lambda d=data: iter(d),
                                                           output_signature=spec))
            for b in data:
                start = time.perf_counter()
                loss, _ = step(iterator)
                float(loss)
                if k:
                    times[mode].append(time.perf_counter() - start)
                    chars[mode].append(int(b["label_length"].sum()))
    out = {}
    for mode in plan:
        out[mode] = {
            "img_s": round(statistics.median(args.batch / t for t in times[mode]), 1),
            "chars_s": round(statistics.median(c / t for c, t in zip(chars[mode], times[mode],
                                                                       strict=True)), 1),
            "mean_padded_width": round(statistics.mean(b[2] for b in plan[mode]), 1),
        }  # fmt: skip
    out["buckets_vs_fixed_img_s"] = round(out["buckets"]["img_s"] / out["fixed"]["img_s"], 2)
    return {"precision": chosen.policy, "width": args.width, "batch": args.batch,
            "params": model.count_params(), **out}


def render_line(seed: int) -> bytes:
    import numpy as np  # noqa: PLC0415

    from crnn_ctc.data import image_np  # noqa: PLC0415
    from crnn_ctc.synth import fonts, render  # noqa: PLC0415

    pool, _ = fonts.discover(None, LINE)
    rng = np.random.default_rng(seed)
    font = next(f for f in pool if f.covers(LINE))
    return image_np.encode(render.render(LINE, font, rng, render.STYLES["line"]), "jpeg")


def timed(rec, items: list, calls: int) -> list[float]:
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        rec.recognize(items, batch_size=len(items))
        times.append(time.perf_counter() - start)
    return times


def serve_part(args) -> dict:
    from crnn_ctc.model.decoder import Decoder  # noqa: PLC0415
    from crnn_ctc.portable.recognizer import PortableRecognizer  # noqa: PLC0415
    from crnn_ctc.serve.recognizer import Recognizer  # noqa: PLC0415

    line = render_line(args.seed)
    readers = {"saved_model_graph beam10": Recognizer.from_checkpoint(args.model_dir)}
    for path in filter(None, args.portable.split(",")):
        for name, dec in (("beam10", Decoder()), ("greedy", Decoder("greedy", 1))):
            readers[f"{os.path.basename(path)} {name}"] = PortableRecognizer.load(path, dec)
    texts = {name: rec.recognize([line])[0].text for name, rec in readers.items()}
    b1: dict = {name: [] for name in readers}
    b64: dict = {name: [] for name in readers}
    for rec in readers.values():  # untimed: each batch size once
        timed(rec, [line] * 64, 1)
    for _ in range(args.rounds):
        for name, rec in readers.items():
            b1[name] += timed(rec, [line], args.calls)
            b64[name] += timed(rec, [line] * 64, args.repeats)
    rows = []
    for name in readers:
        ms = sorted(t * 1000 for t in b1[name])
        rows.append({"reader": name, "text": texts[name],
                     "b1_ms_p50": round(statistics.median(ms), 2),
                     "b1_ms_p90": round(ms[int(0.9 * (len(ms) - 1))], 2),
                     "b64_lines_s": round(statistics.median(64 / t for t in b64[name]), 1)})
    return {"line": LINE, "characters": len(LINE), "rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--width", type=int, default=400, help="the fixed canvas, and the widest line")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps", type=int, default=12, help="batches per mode and round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--precision", default="off", help="--mixed_precision of the training step")
    p.add_argument("--model_dir", default="", help="a keep_aspect run: also the serving part")
    p.add_argument("--portable", default="", help="comma-separated .tflite/.onnx line files")
    p.add_argument("--calls", type=int, default=20, help="batch-1 calls per reader and round")
    p.add_argument("--repeats", type=int, default=3, help="batch-64 calls per reader and round")
    p.add_argument("--skip_train", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(RESULTS, "lines_speed.json"))
    args = p.parse_args()
    result = {"machine": machine_info(), "date": time.strftime("%Y-%m-%d")}
    if not args.skip_train:
        result["train"] = train_part(args)
    if args.model_dir:
        result["serve"] = serve_part(args)
    emit(result, args.out)


if __name__ == "__main__":
    main()
