"""Our models and other OCR packages' recognizers, scored the same way on the same crops.

    # the peers' predictions, each in the peers' own virtualenv (benchmarks/peers_read.py)
    peers/bin/python benchmarks/peers_read.py --peer ppocrv6_tiny --real_eval_dir R \
        --lines_dir L --out tiny.json
    # ours read here (one crop per call, encoded bytes in, decoded as exported), then all scored
    python benchmarks/bench_peers.py --real_eval_dir R --lines_dir L --model models/crnn_en \
        --predictions tiny.json,small.json --out benchmarks/results/peers.json

Rules (test sets: final numbers only, never tuning):
  words, labels.txt         case-insensitive, ASCII letters and digits only (the usual
                            protocol); micro over IIIT5K, SVT, IC13-857, IC13-1015, IC15, SVTP,
                            CUTE80 (8,529); IIIT5K also on subset_photos_not_in_train.txt
  words, case-sensitive     exact match: IIIT5K and SVT labels_case_sensitive_punct.txt, SVTP
                            and CUTE80 labels.txt (already case-sensitive)
  lines                     SROIE and FUNSD test.txt with each set's rule (bench_real_lines.py),
                            all lines and test_unseen_text.txt
Speed: each reader's median wall ms per crop, one crop per call, over the IIIT5K crops
(words) and the SROIE lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import emit, machine_info  # noqa: E402
from bench_real_lines import read_list  # noqa: E402
from bench_real_lines import score as score_lines  # noqa: E402
from peers_read import LINE_LISTS, WORD_LISTS  # noqa: E402

MICRO = ("IIIT5K/labels.txt", "SVT/labels.txt", "IC13/subset_857.txt", "IC13/subset_1015.txt",
         "IC15/labels.txt", "SVTP/labels.txt", "CUTE80/labels.txt")
CASE_SENSITIVE = ("IIIT5K/labels_case_sensitive_punct.txt", "SVT/labels_case_sensitive_punct.txt",
                  "SVTP/labels.txt", "CUTE80/labels.txt")
LINE_SETS = {"SROIE2019_lines/test.txt": "SROIE", "FUNSD_lines/test.txt": "FUNSD"}


def read_ours(model: str, lists: dict[str, list[tuple[str, str]]], folders: dict) -> dict:
    """Our Recognizer over every list, one crop per call (as peers_read.py reads the peers)."""
    from crnn_ctc import Recognizer  # noqa: PLC0415

    rec = Recognizer.load(model)
    out = {"peer": f"crnn_ctc {model}", "source": rec.source, "decoder": str(rec.decoder),
           "lists": {}, "ms": {}, "errors": {}}
    seen: dict[str, str] = {}
    for name, rows in lists.items():
        preds, times = {}, []
        for rel, _ in rows:
            full = os.path.join(folders[name], rel)
            if full not in seen:
                with open(full, "rb") as f:
                    data = f.read()
                start = time.perf_counter()
                pred = rec.recognize([data], on_error="keep")[0]
                times.append(1000 * (time.perf_counter() - start))
                seen[full] = pred.text
                if pred.error:
                    out["errors"][full] = pred.error
            preds[rel] = seen[full]
        out["lists"][name], out["ms"][name] = preds, times
    return out


def accuracy(rows, preds, case_sensitive: bool, alnum_only: bool) -> dict:
    from crnn_ctc.evaluate.metrics import edit_distances, normalize  # noqa: PLC0415

    p = [normalize(preds.get(rel, ""), case_sensitive, alnum_only) for rel, _ in rows]
    t = [normalize(label, case_sensitive, alnum_only) for _, label in rows]
    dist = edit_distances(p, t)
    return {"count": len(rows), "correct": sum(a == b for a, b in zip(p, t, strict=True)),
            "errors": sum(dist), "chars": sum(len(x) for x in t)}


def pct(entry: dict) -> dict:
    return {"count": entry["count"],
            "accuracy": round(100 * entry["correct"] / max(1, entry["count"]), 2),
            "cer": round(100 * entry["errors"] / max(1, entry["chars"]), 2)}


def score(reader: dict, lists: dict, real_eval_dir: str, lines_dir: str) -> dict:
    got = reader["lists"]
    out = {"words": {}, "case_sensitive": {}, "lines": {}}
    total = {"count": 0, "correct": 0, "errors": 0, "chars": 0}
    for name in MICRO:
        if name in got:
            a = accuracy(lists[name], got[name], False, True)
            out["words"][name] = pct(a)
            total = {k: total[k] + a[k] for k in total}
    if all(name in got for name in MICRO):
        out["words"]["micro"] = pct(total)
    subset = os.path.join(real_eval_dir, "IIIT5K", "subset_photos_not_in_train.txt")
    if "IIIT5K/labels.txt" in got and os.path.isfile(subset):
        out["words"]["IIIT5K_photos_not_in_train"] = pct(
            accuracy(read_list(subset), got["IIIT5K/labels.txt"], False, True))
    for name in CASE_SENSITIVE:
        if name in got:
            out["case_sensitive"][name] = pct(accuracy(lists[name], got[name], True, False))
    for name, set_name in LINE_SETS.items():
        if name not in got:
            continue
        rows = [(rel, label, got[name].get(rel, "")) for rel, label in lists[name]]
        entry = {"all": score_lines(set_name, rows)}
        unseen = os.path.join(lines_dir, os.path.dirname(name), "test_unseen_text.txt")
        if os.path.isfile(unseen):
            keep = {rel for rel, _ in read_list(unseen)}
            entry["unseen_text"] = score_lines(set_name, [r for r in rows if r[0] in keep])
        out["lines"][set_name] = entry
    ms = reader.get("ms", {})
    out["ms_per_crop"] = {key: round(statistics.median(ms[name]), 2)
                          for key, name in (("word", "IIIT5K/labels.txt"),
                                            ("line", "SROIE2019_lines/test.txt"))
                          if ms.get(name)}
    out["errors"] = len(reader.get("errors", {}))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real_eval_dir", default="")
    ap.add_argument("--lines_dir", default="")
    ap.add_argument("--model", default="", help="our models, comma-separated (read here)")
    ap.add_argument("--predictions", default="", help="peers_read.py outputs, comma-separated")
    ap.add_argument("--lists", default="", help="only these list files (default: all)")
    ap.add_argument("--limit", type=int, default=0, help="first N crops of each list (0 = all)")
    ap.add_argument("--out", default="")
    ap.add_argument("--save_predictions", default="",
                    help="write our readers' texts here, one peers_read.py-style JSON per model "
                         "(score them again later with --predictions, without reading)")
    args = ap.parse_args(argv)
    wanted = args.lists.split(",") if args.lists else list(WORD_LISTS + LINE_LISTS)
    lists, folders = {}, {}
    for name in wanted:
        for root in (args.real_eval_dir, args.lines_dir):
            if root and os.path.isfile(os.path.join(root, name)):
                lists[name] = read_list(os.path.join(root, name))[:args.limit or None]
                folders[name] = os.path.dirname(os.path.join(root, name))
                break
    if not lists:
        sys.exit("no list found under --real_eval_dir / --lines_dir")
    readers = [read_ours(m, lists, folders) for m in args.model.split(",") if m]
    if args.save_predictions:
        os.makedirs(args.save_predictions, exist_ok=True)
        for i, reader in enumerate(readers):
            name = os.path.basename(os.path.normpath(reader["source"])) or "model"
            path = os.path.join(args.save_predictions, f"ours_{i}_{name}.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(reader, f, ensure_ascii=False)
    for path in filter(None, args.predictions.split(",")):
        with open(path, encoding="utf-8") as f:
            readers.append(json.load(f))
    result = {"benchmark": "peers", "machine": machine_info(), "limit": args.limit,
              "readers": {r["peer"]: score(r, lists, args.real_eval_dir, args.lines_dir)
                          for r in readers}}
    emit(result, args.out or os.devnull)
    return result


if __name__ == "__main__":
    main()
