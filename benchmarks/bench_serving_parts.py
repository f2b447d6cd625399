"""Where a serving call's time goes: serving_default split into its parts, batch 1 and 64.

    python benchmarks/bench_serving_parts.py --presets paper,small

For each preset (random weights, as bench_serving.py) a serve/graph.CrnnServing is built with the
export defaults (beam 10) and each part runs alone as its own tf.function on the same inputs:
  load      header checks + decode + resize of the JPEG bytes (CrnnServing._load: tf.data map)
  to_input  uint8 -> float in [-1, 1]
  cnn       the folded CNN (model.inference.InferenceCrnn.cnn)
  rnn       the fused BiLSTMs and the logits layer (InferenceCrnn.sequence)
  decode    CTC beam search 10 (sharded) and the charset lookup (decoding.decode, ids_to_text_tf)
  whole     the exported SavedModel's serving_default, bytes in, text out
per_call_overhead = whole - the sum of the parts (signature dispatch, output packing, the
per-image error bookkeeping). Parts are timed round-robin, --calls calls each per repeat, medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, HERE)

from bench_create_tfrecord import RESULTS, emit, machine_info  # noqa: E402
from bench_serving import export_variant, load_images  # noqa: E402

PARTS = ("load", "to_input", "cnn", "rnn", "decode", "whole")


def parts_of(preset: str, folder: str, seed: int) -> dict:
    """-> {part: (fn, batch-1 args, batch-64 args)}."""
    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.data import image_tf  # noqa: PLC0415
    from crnn_ctc.data.charset import Charset  # noqa: PLC0415
    from crnn_ctc.model import crnn, decoding  # noqa: PLC0415
    from crnn_ctc.serve import graph  # noqa: PLC0415
    from crnn_ctc.train import presets  # noqa: PLC0415

    cfg, charset = presets.get(preset), Charset.from_spec("alnum_lower")
    charset.save(os.path.join(folder, "charset.txt"))
    module = graph.CrnnServing(crnn.build_crnn(cfg, charset.num_classes), cfg, charset,
                               graph.Decoder(), os.path.join(folder, "charset.txt"))
    whole, _loaded = export_variant(preset, "beam10", folder)
    images = load_images(64, seed)
    fns = {
        # _load -> ((images, turned, tall, widths), errors): the part is the images
        "load": tf.function(lambda b: module._load(b)[0][0]),
        "to_input": tf.function(image_tf.to_model_input),
        "cnn": tf.function(module.net.cnn),
        "rnn": tf.function(module.net.sequence),
        "decode": tf.function(lambda logits: decoding.ids_to_text_tf(
            decoding.decode(logits, charset.blank_id, 10, 1)[0][:, 0], module.symbols)),
        "whole": whole,
    }
    out = {}
    for batch in (1, 64):
        data = tf.constant((images * 64)[:batch])
        pixels = fns["load"](data)
        x = fns["to_input"](pixels)
        feats = fns["cnn"](x)
        logits = fns["rnn"](feats)
        inputs = {"load": data, "to_input": pixels, "cnn": x, "rnn": feats, "decode": logits,
                  "whole": data}
        out[batch] = {p: (fns[p], inputs[p]) for p in PARTS}
    out["keep"] = (_loaded, module)
    return out


def time_part(fn, arg, calls: int) -> float:
    for _ in range(5):
        fn(arg)
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        result = fn(arg)
        (result["text"] if isinstance(result, dict) else result).numpy()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--presets", default="paper,small")
    p.add_argument("--calls", type=int, default=100, help="calls per part per repeat (batch 1)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=os.path.join(RESULTS, "serving_parts.json"))
    args = p.parse_args()
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            folder = os.path.join(tmp, preset)
            os.makedirs(folder)
            parts = parts_of(preset, folder, args.seed)
            per = {b: {part: [] for part in PARTS} for b in (1, 64)}
            for _ in range(args.repeats):
                for batch in (1, 64):
                    calls = args.calls if batch == 1 else max(3, args.calls // 20)
                    for part in PARTS:
                        fn, arg = parts[batch][part]
                        per[batch][part].append(time_part(fn, arg, calls))
            result[preset] = {}
            for batch, times in per.items():
                med = {part: round(statistics.median(v), 2) for part, v in times.items()}
                med["per_call_overhead"] = round(
                    med["whole"] - sum(med[part] for part in PARTS[:-1]), 2)
                result[preset][f"batch{batch}_ms"] = med
            print(preset, result[preset], file=sys.stderr)
    emit({"benchmark": "serving_parts", "machine": machine_info(), "decoder": "beam 10",
          "calls": args.calls, "repeats": args.repeats, "presets": result}, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
