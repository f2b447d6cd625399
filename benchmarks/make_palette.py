"""Measures the scene renderer's colour table (crnn_ctc/synth/palette.json) on real TRAINING crops.

    .venv/bin/python benchmarks/make_palette.py \
        --anno_file ../shared/real_train/train_list_photo_disjoint.txt

Only training crops: validation and test crops are never looked at. Prints a JSON summary.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crnn_ctc.synth import palette  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anno_file", required=True, help="`path label` lines of crops")
    parser.add_argument("--clusters", type=int, default=48)
    parser.add_argument("--out", default=palette.DEFAULT_TABLE)
    args = parser.parse_args()
    root = os.path.dirname(os.path.abspath(args.anno_file))
    with open(args.anno_file, encoding="utf-8") as f:
        paths = [os.path.join(root, line.split(" ", 1)[0]) for line in f if line.strip()]
    table = palette.measure(paths, args.clusters)
    source = f"{len(paths)} crops of {os.path.basename(args.anno_file)}, {args.clusters} clusters"
    palette.save(table, args.out, source)
    print(json.dumps({"crops": len(paths), "clusters": args.clusters, "out": args.out}))


if __name__ == "__main__":
    main()
