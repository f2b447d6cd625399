"""A model on the real scene-text benchmarks: word accuracy (greedy and beam) and CPU speed.

    python benchmarks/bench_real_eval.py --real_eval_dir ../shared/real_eval
    python benchmarks/bench_real_eval.py --real_eval_dir R --model_dir runs/x --contact_sheet a.png

--real_eval_dir holds IIIT5K/, SVT/, IC13/, IC15/, SVTP/, CUTE80/ (images/ + labels.txt, IC13
subset_857.txt and subset_1015.txt). These are test sets: evaluate on them, never train, tune or
pick checkpoints on them. Protocol: case-insensitive, letters and digits only (the usual one).
IIIT5K is also reported on IIIT5K/subset_photos_not_in_train.txt (outside the micro-average).
Tall crops are read turned too, as the exported model reads them (--tall_ratio).

Accuracy comes from the training-folder checkpoint (eval_lib, the code behind
tools/eval_crnn_ctc.py) with greedy decoding and with a beam of 10. Speed comes from the
exported SavedModel's serving_default (the version under --model_dir, as TF Serving would run
it): the first --speed_images IIIT5K crops sent one per call (latency p50/p90 in ms per crop)
and in calls of 64 (ms per crop), median over --repeats passes. Prints JSON and writes
benchmarks/results/real_eval.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import REPO, RESULTS, emit, machine_info  # noqa: E402

SETS = (("IIIT5K", "IIIT5K/labels.txt"), ("SVT", "SVT/labels.txt"),
        ("IC13_857", "IC13/subset_857.txt"), ("IC13_1015", "IC13/subset_1015.txt"),
        ("IC15", "IC15/labels.txt"), ("SVTP", "SVTP/labels.txt"), ("CUTE80", "CUTE80/labels.txt"))
# Reported beside the sets, outside the micro-average (its crops are IIIT5K's): the IIIT5K test
# crops whose photos have no crop in the IIIT5K training split (real_eval/IIIT5K/README.md).
SUBSETS = (("IIIT5K_photos_not_in_train", "IIIT5K/subset_photos_not_in_train.txt"),)


def accuracy(model_dir: str, root: str, beam_width: int, sheet: str, tall_ratio: float) -> dict:
    from crnn_ctc.evaluate import report as eval_report  # noqa: PLC0415

    def run(sets):
        files = tuple(os.path.join(root, path) for _, path in sets)
        return eval_report.run(eval_report.EvalConfig(model_dir=model_dir, anno_files=files,
                                                      beam_width=beam_width,
                                                      tall_ratio=tall_ratio))  # fmt: skip

    report = run(SETS)
    if sheet:  # the first 60 crops of IIIT5K and of SVT: <sheet stem>_IIIT5K.png, _SVT.png
        first = dict(list(report["sets"].items())[:2])
        eval_report.write_contact_sheets({**report, "sets": first}, sheet)
    out = {}
    results = [*report["sets"].values(), *run(SUBSETS)["sets"].values()]
    for (name, _), result in zip(SETS + SUBSETS, results, strict=True):
        m = result["metrics"]
        out[name] = {"count": m["count"], "word_accuracy": round(100 * m["word_accuracy"], 2),
                     "cer": round(100 * m["cer"], 2), "skipped": len(result["problems"])}
    t = report["total"]
    out["total_micro"] = {"count": t["count"], "word_accuracy": round(100 * t["word_accuracy"], 2),
                          "cer": round(100 * t["cer"], 2)}
    return {"checkpoint": os.path.relpath(report["checkpoint"], REPO), "sets": out}


def speed(model_dir: str, root: str, count: int, repeats: int) -> dict:
    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.serve import versions  # noqa: PLC0415

    kind, path = versions.resolve(model_dir)
    if kind == "checkpoint":
        return {"skipped": f"{model_dir} has no exported SavedModel"}
    serve = tf.saved_model.load(path).signatures["serving_default"]
    with open(os.path.join(root, "IIIT5K", "labels.txt"), encoding="utf-8") as f:
        names = [line.split(" ", 1)[0] for line in f][:count]
    crops = []
    for name in names:
        with open(os.path.join(root, "IIIT5K", name), "rb") as f:
            crops.append(f.read())
    serve(image_bytes=tf.constant(crops[:8]))  # warm up
    single, batched = [], []
    for _ in range(repeats):
        times = []
        for crop in crops:
            start = time.perf_counter()
            serve(image_bytes=tf.constant([crop]))
            times.append(1000 * (time.perf_counter() - start))
        times.sort()
        single.append((times[len(times) // 2], times[int(0.9 * len(times))]))
        start = time.perf_counter()
        for i in range(0, len(crops), 64):
            serve(image_bytes=tf.constant(crops[i:i + 64]))
        batched.append(1000 * (time.perf_counter() - start) / len(crops))
    return {"saved_model": os.path.relpath(path, REPO), "images": len(crops),
            "batch1_ms_p50": round(statistics.median(p50 for p50, _ in single), 2),
            "batch1_ms_p90": round(statistics.median(p90 for _, p90 in single), 2),
            "batch64_ms_per_crop": round(statistics.median(batched), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real_eval_dir", required=True)
    parser.add_argument("--model_dir", default=os.path.join(REPO, "models", "crnn_en"))
    parser.add_argument("--speed_images", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--contact_sheet", default="", help="PNGs of the first 60 IIIT5K and "
                        "SVT crops (beam): <stem>_IIIT5K.png and <stem>_SVT.png")
    parser.add_argument("--tall_ratio", type=float, default=None, help="crops taller than this x "
                        "their width are read turned too (default: the Decoder's; 0 = never)")
    parser.add_argument("--out", default=os.path.join(RESULTS, "real_eval.json"))
    args = parser.parse_args()
    from crnn_ctc.model.decoder import TALL_RATIO  # noqa: PLC0415

    tall = TALL_RATIO if args.tall_ratio is None else args.tall_ratio
    for _, path in SETS + SUBSETS:
        if not os.path.isfile(os.path.join(args.real_eval_dir, path)):
            sys.exit(f"--real_eval_dir {args.real_eval_dir}: no {path}")
    result = {"benchmark": "real_eval", "model_dir": os.path.relpath(args.model_dir, REPO),
              "protocol": "case-insensitive, [0-9a-z] only", "machine": machine_info(),
              "tall_ratio": tall,
              "greedy": accuracy(args.model_dir, args.real_eval_dir, 0, "", tall),
              "beam10": accuracy(args.model_dir, args.real_eval_dir, 10, args.contact_sheet, tall),
              "speed": speed(args.model_dir, args.real_eval_dir, args.speed_images, args.repeats)}
    emit(result, args.out)


if __name__ == "__main__":
    main()
