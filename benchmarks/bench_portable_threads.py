"""Benchmark: one PortableRecognizer shared by an application's threads (a web server's workers),
LiteRT files, sharing="pool" (an interpreter per concurrent call) against sharing="lock" (one
interpreter, calls take turns).

    .venv/bin/python benchmarks/bench_portable_threads.py \
        --calibration_data ../shared/real_train \
        --calibration_list ../shared/real_train/train_list_photo_disjoint.txt \
        --image_list ../shared/real_train/val_list_photo_disjoint.txt

Exports --model_dir (default: the shipped models/crnn_en) to tflite --variants (fp32, int8;
int8 calibrated on --calibration_images TRAINING images), reads the first --crops images of
--image_list (encoded bytes, kept in memory) and times recognize() on them, one item per call
(batch 1, as a request handler calls it), for each configuration:
  threads 1            one thread (pool and lock are the same then)
  threads 2, pool      two threads on one recognizer, an interpreter each
  threads 2, lock      two threads on one recognizer, one interpreter behind a lock
  ... each with the LiteRT interpreters' own threads at --interpreter_threads (0 = every core)
and each decoder of --decoders (greedy; beam10, the export default, in NumPy). The crops are
split between the threads; crops/s = crops / wall time of the whole run. Every thread's texts
and scores must equal the one-thread run's, or the script exits 1. Configurations alternate in
--rounds rounds; medians are reported. Prints JSON and writes
benchmarks/results/portable_threads.json (or --out).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import REPO, RESULTS, emit, machine_info  # noqa: E402

sys.path.insert(0, REPO)

DECODERS = {"greedy": ("greedy", 1), "beam10": ("beam", 10)}


def run_threads(rec, items: list[bytes], threads: int) -> tuple[float, dict]:
    """recognize() one item per call from ``threads`` threads over their share of ``items``
    -> (wall seconds, {index: (text, score)})."""
    got: dict = {}
    failures: list = []
    barrier = threading.Barrier(threads + 1)

    def work(k: int) -> None:
        try:
            barrier.wait()
            for i in range(k, len(items), threads):
                p = rec.recognize([items[i]], batch_size=1)[0]
                got[i] = (p.text, p.score)
        except Exception as err:  # noqa: BLE001 (reported below)
            failures.append(repr(err))

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    if failures:
        raise RuntimeError(f"{threads} threads: {failures[0]}")
    return wall, got


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model_dir", default=os.path.join(REPO, "models", "crnn_en"))
    p.add_argument("--image_list", default=os.path.join(REPO, "test_data", "image_list.txt"),
                   help="path label lines; the images are read from the list's folder")
    p.add_argument("--crops", type=int, default=400)
    p.add_argument("--variants", default="fp32,int8")
    p.add_argument("--calibration_data", default=os.path.join(REPO, "test_data"))
    p.add_argument("--calibration_list",
                   default=os.path.join(REPO, "test_data", "image_list.txt"))
    p.add_argument("--calibration_images", type=int, default=1024)
    p.add_argument("--decoders", default="greedy,beam10")
    p.add_argument("--interpreter_threads", default="0",
                   help="comma list of each interpreter's own threads (0 = every core)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--out", default=os.path.join(RESULTS, "portable_threads.json"))
    args = p.parse_args()

    from crnn_ctc.evaluate.evaluation import read_image_list  # noqa: PLC0415
    from crnn_ctc.model.decoder import Decoder  # noqa: PLC0415
    from crnn_ctc.portable import export as portable  # noqa: PLC0415
    from crnn_ctc.portable.recognizer import PortableRecognizer  # noqa: PLC0415
    from crnn_ctc.portable.runtime import cores  # noqa: PLC0415

    entries, problems = read_image_list(os.path.dirname(args.image_list), args.image_list)
    items = []
    for path, _ in entries[:args.crops]:
        with open(path, "rb") as f:
            items.append(f.read())
    variants = tuple(args.variants.split(","))
    tmp = tempfile.mkdtemp(prefix="bench_portable_threads_")
    files = dict(zip(variants, portable.export_portable(portable.PortableConfig(
        args.model_dir, tmp, "tflite", variants, calibration_data=args.calibration_data,
        calibration_list=args.calibration_list,
        calibration_images=args.calibration_images)), strict=True))  # fmt: skip

    configs = []  # (variant, decoder, app threads, sharing, interpreter threads)
    for variant in variants:
        for decoder in args.decoders.split(","):
            for it_threads in (int(n) for n in args.interpreter_threads.split(",")):
                configs += [(variant, decoder, 1, "pool", it_threads),
                            (variant, decoder, 2, "pool", it_threads),
                            (variant, decoder, 2, "lock", it_threads)]
    recognizers, want = {}, {}
    for config in configs:
        variant, decoder, _, sharing, it_threads = config
        rec = PortableRecognizer.load(files[variant], Decoder(*DECODERS[decoder]),
                                      it_threads or None, sharing)  # fmt: skip
        run_threads(rec, items[:8], 2)  # warm-up; a pool makes its interpreters
        recognizers[config] = rec
        if (variant, decoder) not in want:  # the one-thread answer every run must give
            want[variant, decoder] = run_threads(rec, items, 1)[1]
    walls = {c: [] for c in configs}
    mismatches = {}
    for _ in range(args.rounds):
        for config in configs:
            wall, got = run_threads(recognizers[config], items, config[2])
            walls[config].append(wall)
            wrong = sum(got[i] != v for i, v in want[config[:2]].items())
            if wrong:
                mismatches["/".join(map(str, config))] = wrong
    rows = []
    for config in configs:
        variant, decoder, threads, sharing, it_threads = config
        wall = statistics.median(walls[config])
        rows.append({"variant": variant, "decoder": decoder, "threads": threads,
                     "sharing": sharing if threads > 1 else "-",
                     "interpreter_threads": it_threads or cores(),
                     "interpreters": recognizers[config].model._backend.interpreters,
                     "crops_per_s": round(len(items) / wall, 1),
                     "runs_crops_per_s": [round(len(items) / w, 1) for w in walls[config]]})
    for row in rows:  # each against the one-thread run of its file, decoder and threads
        one = next(r for r in rows if r["threads"] == 1 and all(
            r[k] == row[k] for k in ("variant", "decoder", "interpreter_threads")))
        row["vs_one_thread"] = round(row["crops_per_s"] / one["crops_per_s"], 3)
    emit({"benchmark": "portable_threads", "machine": machine_info(), "crops": len(items),
          "image_list": os.path.basename(args.image_list), "list_problems": problems,
          "rounds": args.rounds, "rows": rows, "mismatched_texts": mismatches}, args.out)
    if mismatches:
        sys.exit(f"texts or scores differ from one thread's: {mismatches}")


if __name__ == "__main__":
    main()
