"""A model on real text-line crops: line accuracy and CER with each set's own scoring rule,
on all lines of a list and on the lines whose text the train split never has.

    python benchmarks/bench_real_lines.py --lines_dir ../shared/real_lines --model runs/line
    python benchmarks/bench_real_lines.py --lines_dir R --model models/crnn_en --list test.txt

--lines_dir holds SROIE2019_lines/ and FUNSD_lines/ (images/, train.txt, test.txt,
test_unseen_text.txt). Test lists are for final numbers only: never train, tune or pick
checkpoints on them. Rules (the sets' READMEs):
  SROIE  labels are upper case by annotation policy: upper(prediction) == label, spaces kept;
         CER on the upper-cased prediction.
  FUNSD  exact match and CER as is, plus "normalized": case-folded, whitespace removed.
Every crop goes through the serving graph (crnn_ctc.Recognizer: a checkpoint folder with
--checkpoint and a beam of --beam_width, or a SavedModel / export base as exported), in
batches of --batch_size. Prints JSON (and writes it to --out).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SETS = {"SROIE": "SROIE2019_lines", "FUNSD": "FUNSD_lines"}


def read_list(path: str) -> list[tuple[str, str]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rel, _, label = line.partition(" ")
                rows.append((rel, label))
    return rows


def rule(name: str, text: str) -> str:
    """A prediction as the set's rule compares it with the label."""
    return text.upper() if name == "SROIE" else text


def squeeze(text: str) -> str:
    return "".join(text.casefold().split())


def score(name: str, rows: list[tuple[str, str, str]]) -> dict:
    """rows (path, label, prediction) -> the set's metrics."""
    from crnn_ctc.evaluate.metrics import edit_distances  # noqa: PLC0415

    if not rows:
        return {"lines": 0}
    preds = [rule(name, p) for _, _, p in rows]
    labels = [label for _, label, _ in rows]
    dist = edit_distances(preds, labels)
    out = {"lines": len(rows),
           "line_accuracy": round(100 * sum(p == t for p, t in zip(preds, labels, strict=True))
                                  / len(rows), 2),
           "cer": round(100 * sum(dist) / max(1, sum(len(t) for t in labels)), 2)}
    if name == "FUNSD":
        sq_p, sq_t = [squeeze(p) for p in preds], [squeeze(t) for t in labels]
        sq_d = edit_distances(sq_p, sq_t)
        out["normalized_accuracy"] = round(
            100 * sum(p == t for p, t in zip(sq_p, sq_t, strict=True)) / len(rows), 2)
        out["normalized_cer"] = round(100 * sum(sq_d) / max(1, sum(len(t) for t in sq_t)), 2)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines_dir", required=True)
    ap.add_argument("--model", required=True, help="checkpoint folder, SavedModel or export base")
    ap.add_argument("--checkpoint", default="best")
    ap.add_argument("--beam_width", type=int, default=10)
    ap.add_argument("--list", default="test.txt", help="the list read in each set folder")
    ap.add_argument("--unseen", default="test_unseen_text.txt",
                    help="subset list reported beside it ('' for none)")
    ap.add_argument("--sets", default="SROIE,FUNSD")
    ap.add_argument("--limit", type=int, default=0, help="first N lines of each list (0 = all)")
    ap.add_argument("--batch_size", type=int, default=32)
    ap.add_argument("--out", default="")
    args = ap.parse_args(argv)

    from crnn_ctc import Recognizer  # noqa: PLC0415
    from crnn_ctc.model.decoder import Decoder  # noqa: PLC0415
    from crnn_ctc.serve import pretrained, versions  # noqa: PLC0415

    # a SavedModel decodes as it was exported; --beam_width applies to checkpoints
    is_checkpoint = versions.resolve(pretrained.model_dir(args.model))[0] == "checkpoint"
    decoder = Decoder("beam", args.beam_width) if args.beam_width > 1 else Decoder("greedy")
    rec = Recognizer.load(args.model, args.checkpoint, decoder if is_checkpoint else None)
    result = {"model": args.model, "source": rec.source, "decoder": str(rec.decoder),
              "list": args.list, "sets": {}}
    for name in args.sets.split(","):
        folder = os.path.join(args.lines_dir, SETS[name])
        rows = read_list(os.path.join(folder, args.list))
        if args.limit:
            rows = rows[:args.limit]
        start = time.perf_counter()
        preds = []
        for i in range(0, len(rows), args.batch_size):
            chunk = [os.path.join(folder, rel) for rel, _ in rows[i:i + args.batch_size]]
            preds += [p.text for p in rec.recognize(chunk, on_error="keep")]
        seconds = time.perf_counter() - start
        scored = [(rel, label, p) for (rel, label), p in zip(rows, preds, strict=True)]
        entry = {"all": score(name, scored), "seconds": round(seconds, 1)}
        unseen_file = os.path.join(folder, args.unseen) if args.unseen else ""
        if unseen_file and os.path.isfile(unseen_file):
            unseen = {rel for rel, _ in read_list(unseen_file)}
            entry["unseen_text"] = score(name, [r for r in scored if r[0] in unseen])
        entry["examples"] = [{"label": t, "prediction": p} for _, t, p in scored[:8]]
        result["sets"][name] = entry
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return result


if __name__ == "__main__":
    main()
