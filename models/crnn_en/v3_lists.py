"""The real-crop lists crnn_en version 3 trains and chooses on (models/crnn_en/recipe_v3.sh).

    python models/crnn_en/v3_lists.py --real_train REAL_TRAIN --real_lines REAL_LINES --out DIR

Words (paths relative to REAL_TRAIN): ``words_train.txt`` is train_list_all_photo_disjoint.txt
with the IIIT5K and SVT labels taken from their labels_case_sensitive_punct.txt (both mixed
case there, so both count for case); IC15 and IC13BD keep their own labels. ``words_val_<SET>.txt``
splits val_list_photo_disjoint.txt by source (IC15, IIIT5K, SVT), the same way relabelled, so the
checkpoint can be chosen on the mean of the per-source accuracies. Every label: U+00B4 and the
curly apostrophes become ``'``, accents are folded (``É`` -> ``E``); characters printable ASCII
still lacks (``€ £ ®``) are left for the converter, which skips those crops with the reason.

Lines (paths relative to REAL_LINES): SROIE2019_lines/train.txt and FUNSD_lines/train.txt, each
split by receipt / form (a hash of its id, VAL_PERCENT of the ids) into ``<set>_train.txt``
and ``<set>_val.txt``. The test lists are never read. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import unicodedata
from pathlib import Path

WORD_SETS = ("IC15", "IIIT5K", "SVT")  # the validation sources; IC13BD is train-only
RELABELLED = ("IIIT5K", "SVT")  # sets whose labels_case_sensitive_punct.txt replaces the label
LINE_SETS = {"sroie": "SROIE2019_lines", "funsd": "FUNSD_lines"}
VAL_PERCENT = 15
_QUOTES = str.maketrans({"\u00b4": "'", "\u2018": "'", "\u2019": "'", "\u201c": '"',
                         "\u201d": '"'})


def clean(label: str) -> str:
    """Apostrophe variants to ``'``, accents folded; other characters kept as they are."""
    out = []
    for ch in label.translate(_QUOTES):
        if ord(ch) < 128:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFKD", ch)
        bare = "".join(c for c in base if not unicodedata.combining(c))
        out.append(bare if bare and all(ord(c) < 128 for c in bare) else ch)
    return "".join(out)


def read_list(path: Path) -> list[tuple[str, str]]:
    """``relative/path label`` lines, split on the first space (labels may hold spaces)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rel, _, label = line.partition(" ")
            rows.append((rel, label))
    return rows


def case_labels(real_train: Path) -> dict[str, str]:
    """``SET_train/images/x.png`` -> its case-sensitive label, for the RELABELLED sets."""
    labels = {}
    for name in RELABELLED:
        folder = f"{name}_train"
        for rel, label in read_list(real_train / folder / "labels_case_sensitive_punct.txt"):
            labels[f"{folder}/{rel}"] = label
    return labels


def source(rel: str) -> str:
    return rel.split("/", 1)[0].removesuffix("_train")


def word_rows(rows, relabel: dict[str, str]) -> tuple[list[tuple[str, str]], int]:
    """The rows with the case-sensitive labels put in, and how many were replaced."""
    out, replaced = [], 0
    for rel, label in rows:
        if source(rel) in RELABELLED and rel in relabel:
            replaced += relabel[rel] != label
            label = relabel[rel]
        out.append((rel, clean(label)))
    return out, replaced


def group_of(set_key: str, rel: str) -> str:
    """The receipt (SROIE ``X0001_012.png`` -> ``X0001``) or form (FUNSD
    ``train_00851772_1780_e018_l0.png`` -> ``00851772_1780``) a line crop comes from."""
    stem = Path(rel).stem
    if set_key == "sroie":
        return stem.rsplit("_", 1)[0]
    return stem.rsplit("_", 2)[0].split("_", 1)[1]  # drop _e<entity>_l<line> and the split


def is_val(group: str) -> bool:
    return int(hashlib.sha1(group.encode()).hexdigest(), 16) % 100 < VAL_PERCENT


def write(path: Path, rows) -> int:
    path.write_text("".join(f"{rel} {label}\n" for rel, label in rows), encoding="utf-8")
    return len(rows)


def build(real_train: Path, real_lines: Path, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    relabel = case_labels(real_train)
    summary: dict = {}
    train, replaced = word_rows(read_list(real_train / "train_list_all_photo_disjoint.txt"),
                                relabel)
    summary["words_train"] = {"crops": write(out / "words_train.txt", train),
                              "relabelled": replaced}
    val, replaced = word_rows(read_list(real_train / "val_list_photo_disjoint.txt"), relabel)
    summary["words_val_relabelled"] = replaced
    for name in WORD_SETS:
        rows = [r for r in val if source(r[0]) == name]
        summary[f"words_val_{name}"] = write(out / f"words_val_{name}.txt", rows)
    for key, folder in LINE_SETS.items():
        rows = [(f"{folder}/{rel}", clean(label))
                for rel, label in read_list(real_lines / folder / "train.txt")]
        groups = {group_of(key, rel) for rel, _ in rows}
        val_groups = {g for g in groups if is_val(g)}
        held = [r for r in rows if group_of(key, r[0]) in val_groups]
        kept = [r for r in rows if group_of(key, r[0]) not in val_groups]
        summary[key] = {"train": write(out / f"{key}_train.txt", kept),
                        "val": write(out / f"{key}_val.txt", held),
                        "groups": len(groups), "val_groups": len(val_groups)}
    (out / "lists.json").write_text(json.dumps(summary, indent=1) + "\n")
    return summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real_train", type=Path, required=True)
    parser.add_argument("--real_lines", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    print(json.dumps(build(args.real_train, args.real_lines, args.out)))


if __name__ == "__main__":
    main()
