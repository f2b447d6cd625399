"""bf16 serving: accuracy against fp32 on real crops, and speed, for one trained model.

    python benchmarks/bench_bf16_serving.py \
        --anno_file ../shared/real_train/val_list_photo_disjoint.txt      # models/crnn_en

The model (--model_dir, default the shipped models/crnn_en) is exported twice, as
tools/export_crnn_ctc.py --precision fp32 and --precision bf16 do, with greedy decoding (the
decoder is not what bf16 changes: it only sees logits). Both SavedModels read every image of
--anno_file (`path label` lines; paths relative to the file's folder) from its bytes, 64 per call.
Reported: the share of images whose bf16 text equals the fp32 text, and the word accuracy of each
(case-insensitive, ASCII letters and digits only: the convention of the evaluation tool).
The opt-in bar: texts agree on >= 99.5% and word accuracy within 0.2 points.
Then both are timed the way bench_serving.py times a model (batch 1 p50/p99, batch 64 img/s, beam
off), fp32 and bf16 interleaved --repeats times, so the ratio is of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, HERE)

from bench_create_tfrecord import RESULTS, emit, machine_info  # noqa: E402
from bench_serving import measure  # noqa: E402

PRECISIONS = ("fp32", "bf16")


def read_all(fn, images: list[bytes], batch: int = 64) -> list[str]:
    import tensorflow as tf  # noqa: PLC0415

    texts: list[str] = []
    for i in range(0, len(images), batch):
        out = fn(image_bytes=tf.constant(images[i:i + batch]))
        texts += [t.decode("utf-8") for t in out["text"].numpy()]
    return texts


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model_dir", default="", help="training folder (default: models/crnn_en)")
    p.add_argument("--anno_file", required=True)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--requests", type=int, default=200)
    p.add_argument("--batches", type=int, default=6)
    p.add_argument("--out", default=os.path.join(RESULTS, "bf16_serving.json"))
    args = p.parse_args()

    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.evaluate import metrics  # noqa: PLC0415
    from crnn_ctc.serve import export, graph, pretrained  # noqa: PLC0415

    model_dir = args.model_dir or pretrained.shipped_model_dir()
    root = os.path.dirname(os.path.abspath(args.anno_file))
    entries = []
    with open(args.anno_file, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                path, label = line.rstrip("\n").split(" ", 1)
                entries.append((os.path.join(root, path), label))
    images = []
    for path, _ in entries:
        with open(path, "rb") as f:
            images.append(f.read())
    labels = [metrics.normalize(label, alnum_only=True) for _, label in entries]

    fns, texts, result = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for prec in PRECISIONS:
            path = export.export(export.ExportConfig(
                model_dir, os.path.join(tmp, prec), decoder=graph.Decoder("greedy", 1),
                warmup_batch_sizes=(), precision=prec))  # fmt: skip
            loaded = tf.saved_model.load(path)
            fns[prec] = (loaded, loaded.signatures["serving_default"])
            texts[prec] = read_all(fns[prec][1], images)
            hits = sum(metrics.normalize(t, alnum_only=True) == y
                       for t, y in zip(texts[prec], labels, strict=True))
            result[prec] = {"word_accuracy": round(100 * hits / len(labels), 2)}
        agree = sum(a == b for a, b in zip(texts["fp32"], texts["bf16"], strict=True))
        timings: dict = {prec: [] for prec in PRECISIONS}
        for repeat in range(args.repeats):
            for prec in PRECISIONS:
                fn = fns[prec][1]
                timings[prec].append(measure(lambda b, fn=fn: fn(image_bytes=b), images[:200],
                                             args.requests, args.batches))
                print(f"{prec} run {repeat + 1}: {timings[prec][-1]}", file=sys.stderr)
    for prec in PRECISIONS:
        for key in ("p50_ms", "p99_ms", "batch64_images_per_second"):
            result[prec][key] = statistics.median(t[key] for t in timings[prec])
        result[prec]["runs"] = timings[prec]
    emit({
        "benchmark": "bf16_serving", "machine": machine_info(), "model_dir": model_dir,
        "anno_file": args.anno_file, "images": len(images), "decoder": "greedy",
        "texts_agree_percent": round(100 * agree / len(images), 2),
        "word_accuracy_delta_points": round(result["bf16"]["word_accuracy"]
                                            - result["fp32"]["word_accuracy"], 2),
        "bf16_vs_fp32_batch64": round(result["bf16"]["batch64_images_per_second"]
                                      / result["fp32"]["batch64_images_per_second"], 2),
        "precisions": result,
    }, args.out)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
