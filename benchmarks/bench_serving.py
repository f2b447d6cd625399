"""Serving speed on CPU: the exported SavedModel's serving_default, from JPEG bytes to text.

    python benchmarks/bench_serving.py --presets paper,small --repeats 3

For each preset (random weights: speed does not depend on what the weights learned; beam search
expands every class at every step whatever the logits) the model is exported the way
tools/export_crnn_ctc.py exports it, loaded back with tf.saved_model.load, and called through
serving_default with JPEG word crops of varied sizes (the benchmark corpus of
bench_create_tfrecord.py: 24-64 px high, 40-400 px wide). Timed per call, so each figure covers
in-graph checks, JPEG decode, resize, CRNN, decoding and the charset lookup:
  - batch 1: --requests calls, one image each -> latency p50 / p99 (ms)
  - batch 64: --batches calls of 64 images -> images/s (median of calls)
Variants: beam 10 (the export default) and greedy; "keras" runs the trained Keras layers in the
serving graph instead of the fused inference graph (BN folded, BlockLSTMV2), to show that gain.
Configurations run round-robin --repeats times; medians over repeats are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import RESULTS, emit, ensure_data, machine_info  # noqa: E402

VARIANTS = {"beam10": ("beam", 10, True), "greedy": ("greedy", 1, True),
            "beam10_keras": ("beam", 10, False)}  # fmt: skip


def load_images(count: int, seed: int) -> list[bytes]:
    root, _ = ensure_data(max(count, 1000), seed)
    with open(os.path.join(root, "image_list.txt"), encoding="utf-8") as f:
        paths = [line.split(" ", 1)[0] for line in f][:count]
    out = []
    for path in paths:
        with open(os.path.join(root, path), "rb") as f:
            out.append(f.read())
    return out


def export_variant(preset: str, variant: str, folder: str):
    """-> the loaded serving_default function of a freshly exported random-weight model."""
    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.data.charset import Charset  # noqa: PLC0415
    from crnn_ctc.model import crnn
    from crnn_ctc.serve import graph
    from crnn_ctc.train import presets  # noqa: PLC0415

    kind, width, fused = VARIANTS[variant]
    cfg, charset = presets.get(preset), Charset.from_spec("alnum_lower")
    net = crnn.build_crnn(cfg, charset.num_classes)
    charset.save(os.path.join(folder, "charset.txt"))
    module = graph.CrnnServing(net, cfg, charset, graph.Decoder(kind, width),
                                os.path.join(folder, "charset.txt"))  # fmt: skip
    if not fused:  # the Keras layers as trained (BN separate, LSTMs as while loops)
        module.keras_model = net
        module.net = lambda images: net(images, training=False)
    path = os.path.join(folder, f"{preset}_{variant}")
    tf.saved_model.save(module, path, signatures=module.signatures())
    loaded = tf.saved_model.load(path)
    fn = loaded.signatures["serving_default"]
    return lambda batch: fn(image_bytes=batch), loaded


def measure(fn, images: list[bytes], requests: int, batches: int) -> dict:
    import tensorflow as tf  # noqa: PLC0415

    singles = [tf.constant([img]) for img in images]
    batch64 = tf.constant((images * 64)[:64])
    for i in range(20):  # warm-up: tracing caches, oneDNN primitives, allocator
        fn(singles[i % len(singles)])
    fn(batch64)
    latency = []
    for i in range(requests):
        start = time.perf_counter()
        fn(singles[i % len(singles)])["text"].numpy()
        latency.append((time.perf_counter() - start) * 1e3)
    rates = []
    for _ in range(batches):
        start = time.perf_counter()
        fn(batch64)["text"].numpy()
        rates.append(64 / (time.perf_counter() - start))
    latency.sort()
    return {"p50_ms": round(statistics.median(latency), 2),
            "p99_ms": round(latency[min(len(latency) - 1, int(0.99 * len(latency)))], 2),
            "batch64_images_per_second": round(statistics.median(rates), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="paper,small")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--requests", type=int, default=300, help="batch-1 calls per run")
    parser.add_argument("--batches", type=int, default=8, help="batch-64 calls per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(RESULTS, "serving.json"))
    args = parser.parse_args()


    images = load_images(64, args.seed)
    names = [(p, v) for p in args.presets.split(",") for v in args.variants.split(",")]
    runs: dict[str, list] = {f"{p}/{v}": [] for p, v in names}
    with tempfile.TemporaryDirectory() as tmp:
        fns = {f"{p}/{v}": export_variant(p, v, tmp) for p, v in names}
        for _ in range(args.repeats):  # round-robin, so machine noise spreads over all
            for key, (fn, _) in fns.items():
                runs[key].append(measure(fn, images, args.requests, args.batches))
    medians = {key: {m: statistics.median(r[m] for r in rs) for m in rs[0]}
               for key, rs in runs.items()}  # fmt: skip
    result = {
        "benchmark": "serving",
        "machine": machine_info(),  # date, CPU model, package versions, git commit
        "args": vars(args),
        "median": medians,
        "runs": runs,
    }  # fmt: skip
    emit(result, args.out)


if __name__ == "__main__":
    main()
