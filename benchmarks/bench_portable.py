"""Benchmark: the LiteRT / ONNX exports against the SavedModel: accuracy on real crops, file size,
CPU latency (batch 1) and throughput (batch 64).

    .venv/bin/python benchmarks/bench_portable.py \
        --calibration_data ../shared/real_train \
        --calibration_list ../shared/real_train/train_list_photo_disjoint.txt \
        --val_anno ../shared/real_train/val_list_photo_disjoint.txt

Exports --model_dir (default: the shipped models/crnn_en) to tflite fp32 / fp16 / dynamic / int8
(int8 calibrated on --calibration_images TRAINING crops) and onnx fp32 in a temporary folder,
then for every file and for the SavedModel (a greedy export of the same checkpoint, and the
shipped beam-10 one):
  accuracy  word accuracy and CER on --val_anno (real crops; case-insensitive letters and
            digits), greedy and beam 10, and how many texts equal the SavedModel's; each
            image read by its own path (decode + resize: TensorFlow's in the SavedModel,
            OpenCV/Pillow's for the portable files); with --real_eval_dir also the real test
            sets, greedy (the final table only: nothing is chosen on them)
  speed     pixels in, text out: pre-resized uint8 images through the model and the greedy
            decoder (NumPy for the portable files, in-graph for the SavedModel's
            predict_images), batch 1 (ms per crop, median and p90 of --calls calls) and
            batch 64 (crops/s, median of --repeats calls), with --threads threads; one
            untimed call at each batch size first (LiteRT resizes its input for a new size)
The runs alternate between formats in rounds, so the load of a shared machine falls on all of
them alike. Prints JSON and writes benchmarks/results/portable.json.
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

from bench_create_tfrecord import REPO, RESULTS, emit, machine_info  # noqa: E402

sys.path.insert(0, REPO)

VARIANTS = [("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "dynamic"), ("tflite", "int8"),
            ("onnx", "fp32")]


def score(texts: list[str], labels: list[str]) -> dict:
    from crnn_ctc.evaluate import metrics  # noqa: PLC0415

    m = metrics.RecognitionMetrics(case_sensitive=False, alnum_only=True)
    m.update(texts, labels)
    r = m.result()
    return {"word_accuracy": round(100 * r["word_accuracy"], 2), "cer": round(100 * r["cer"], 2)}


def real_eval(rec, root: str) -> dict:
    """Greedy word accuracy per real test set and the micro-average over all of them (8,529
    crops with both IC13 subsets, as bench_real_eval counts it)."""
    from bench_real_eval import SETS  # noqa: PLC0415

    from crnn_ctc.evaluate.evaluation import read_image_list  # noqa: PLC0415

    out, right, total = {}, 0.0, 0
    for name, rel in SETS:
        anno = os.path.join(root, rel)
        entries, _ = read_image_list(os.path.dirname(anno), anno)
        preds = rec.recognize([e[0] for e in entries], 64, on_error="keep")
        out[name] = score([q.text for q in preds], [e[1] for e in entries])["word_accuracy"]
        right, total = right + out[name] * len(entries), total + len(entries)
    out["micro"] = round(right / total, 2)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model_dir", default=os.path.join(REPO, "models", "crnn_en"))
    p.add_argument("--calibration_data", required=True)
    p.add_argument("--calibration_list", default="")
    p.add_argument("--calibration_images", type=int, default=1024)
    p.add_argument("--val_anno", required=True, help="path label lines (real crops)")
    p.add_argument("--val_dir", default="", help="their folder (default: the list's folder)")
    p.add_argument("--real_eval_dir", default="", help="also score the real TEST sets "
                   "(bench_real_eval.SETS), greedy, for the final table only")
    p.add_argument("--threads", type=int, default=0, help="0 = every core")
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--variants", default=",".join("_".join(v) for v in VARIANTS),
                   help="which files, e.g. tflite_fp32,tflite_int8 (default: all)")
    p.add_argument("--out", default=os.path.join(RESULTS, "portable.json"))
    args = p.parse_args()

    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from crnn_ctc.data import image_np  # noqa: PLC0415
    from crnn_ctc.evaluate.evaluation import read_image_list  # noqa: PLC0415
    from crnn_ctc.model.decoder import Decoder  # noqa: PLC0415
    from crnn_ctc.portable import ctc, runtime  # noqa: PLC0415
    from crnn_ctc.portable import export as portable  # noqa: PLC0415
    from crnn_ctc.portable.recognizer import PortableRecognizer  # noqa: PLC0415
    from crnn_ctc.serve import export as saved_export  # noqa: PLC0415
    from crnn_ctc.serve import versions  # noqa: PLC0415
    from crnn_ctc.serve.recognizer import Recognizer  # noqa: PLC0415

    threads = args.threads or runtime.cores()
    entries, problems = read_image_list(args.val_dir or os.path.dirname(args.val_anno),
                                        args.val_anno)
    paths, labels = [e[0] for e in entries], [e[1] for e in entries]
    tmp = tempfile.mkdtemp(prefix="bench_portable_")
    chosen = set(args.variants.split(","))
    unknown = chosen - {"_".join(v) for v in VARIANTS}
    if unknown:
        p.error(f"--variants {', '.join(sorted(unknown))}: not one of the files")
    files = {}
    for fmt in ("tflite", "onnx"):
        variants = tuple(v for f, v in VARIANTS if f == fmt and f"{f}_{v}" in chosen)
        if not variants:
            continue
        for path in portable.export_portable(portable.PortableConfig(
                args.model_dir, tmp, fmt, variants, calibration_data=args.calibration_data,
                calibration_list=args.calibration_list,
                calibration_images=args.calibration_images)):  # fmt: skip
            files[(fmt, os.path.basename(path).split("_")[1].split(".")[0])] = path
    greedy_saved = saved_export.export(saved_export.ExportConfig(
        args.model_dir, os.path.join(tmp, "savedmodel"), decoder=Decoder("greedy", 1),
        warmup_batch_sizes=()))  # fmt: skip

    rows, texts, scores = {}, {}, {}
    shipped = os.path.join(args.model_dir, str(max(versions.versions(args.model_dir))))
    readers = {("savedmodel", "fp32"): lambda d: Recognizer.load(
        greedy_saved if d.kind == "greedy" else shipped)}  # its latest beam-10 version
    for key, path in files.items():
        readers[key] = lambda d, path=path: PortableRecognizer.load(path, d, threads)
    for key, make in readers.items():
        row = {"file_bytes": (os.path.getsize(files[key]) if key in files else
                              sum(os.path.getsize(os.path.join(d, f))
                                  for d, _, fs in os.walk(greedy_saved) for f in fs))}
        for name, decoder in (("greedy", Decoder("greedy", 1)), ("beam10", Decoder("beam", 10))):
            rec = make(decoder)
            preds = rec.recognize(paths, 64, on_error="keep")
            texts[key, name] = [q.text for q in preds]
            scores[key, name] = np.array([q.score for q in preds])
            row[name] = score(texts[key, name], labels)
            if key != ("tflite", "fp32") and (("tflite", "fp32"), name) in scores:
                gap = np.abs(scores[key, name] - scores[("tflite", "fp32"), name])
                row[name]["score_gap_vs_tflite_fp32_median"] = round(float(np.median(
                    gap[np.isfinite(gap)])), 4)
            saved = texts[("savedmodel", "fp32"), name]  # the reference reads first
            row[name]["texts_as_savedmodel"] = sum(a == b for a, b in zip(
                texts[key, name], saved, strict=True))
        if args.real_eval_dir:
            row["real_eval_greedy"] = real_eval(make(Decoder("greedy", 1)), args.real_eval_dir)
        rows["_".join(key)] = row
        print(key, row, flush=True)

    # speed: resized uint8 crops, model + greedy decoding
    print("speed: timing starts", flush=True)
    images = np.stack([image_np.resize(image_np.load_rgb(open(p_, "rb").read()), 32, 100)
                       for p_ in paths[:64]])  # fmt: skip
    loaded = tf.saved_model.load(greedy_saved)
    predict = loaded.signatures["predict_images"]
    runners = {"savedmodel_fp32": lambda x: predict(images=tf.constant(x))["text"].numpy()}
    for key, path in files.items():
        model = PortableRecognizer.load(path, Decoder("greedy", 1), threads).model
        runners["_".join(key)] = (lambda x, m=model: ctc.decode(m.log_probabilities(x),
                                                                m.contract.blank_id,
                                                                Decoder("greedy", 1)))
    timing = {k: {"batch1_ms": [], "batch64_crops_per_s": []} for k in runners}
    for run in runners.values():  # warm up every size once
        run(images[:1])
        run(images)
    for _ in range(args.rounds):
        for name, run in runners.items():
            ms = []
            run(images[:1])  # LiteRT resizes its input when the batch size changes: not timed
            for i in range(args.calls // args.rounds):
                x = images[i % len(images):i % len(images) + 1]
                start = time.perf_counter()
                run(x)
                ms.append(1000 * (time.perf_counter() - start))
            timing[name]["batch1_ms"] += ms
            run(images)
            for _ in range(max(1, args.repeats // args.rounds)):
                start = time.perf_counter()
                run(images)
                timing[name]["batch64_crops_per_s"].append(len(images) /
                                                           (time.perf_counter() - start))
    for name, t in timing.items():
        ms = sorted(t["batch1_ms"])
        rows[name].update(
            batch1_ms_p50=round(statistics.median(ms), 2),
            batch1_ms_p90=round(ms[int(0.9 * (len(ms) - 1))], 2),
            batch64_crops_per_s=round(statistics.median(t["batch64_crops_per_s"]), 1))
    base = rows["savedmodel_fp32"]
    for row in rows.values():
        row["batch1_vs_savedmodel"] = round(row["batch1_ms_p50"] / base["batch1_ms_p50"], 3)
        row["greedy_points_vs_savedmodel"] = round(
            row["greedy"]["word_accuracy"] - base["greedy"]["word_accuracy"], 2)
    emit({"benchmark": "portable", "machine": machine_info(), "threads": threads,
          "val_anno": os.path.basename(args.val_anno), "val_images": len(paths),
          "val_problems": problems, "calibration_images": args.calibration_images,
          "model_dir": os.path.relpath(args.model_dir, REPO), "rows": rows},
         args.out)


if __name__ == "__main__":
    main()
