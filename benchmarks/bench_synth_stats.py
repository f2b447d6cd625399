"""Benchmark: how close synthetic words look to real crops, measured without training.

    .venv/bin/python benchmarks/bench_synth_stats.py \
        --anno_file ../shared/real_train/train_list_photo_disjoint.txt \
        --variants mjsynth,scene,scene+min_visible=40 --fonts_dir default,/usr/share/fonts

For the real crops of --anno_file (TRAINING crops: they may choose settings) and for --count
images of each variant (a style with any +<render setting>=<value>, rendered by the generator
with --seed), crnn_ctc/synth/crop_stats.py measures every image as the model sees it (grey,
32 x 100): contrast (Otsu class gap), sharpness (Laplacian std), aspect (width / height) and
the ink's tilt; the label length comes from the list.
Reported per variant: the quantiles of each measure and the Kolmogorov-Smirnov distance to the
real crops' distribution (0 = alike, 1 = disjoint). Prints one JSON object (and --out) and the
BENCHMARKS.md table on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.bench_create_tfrecord import emit, machine_info  # noqa: E402
from crnn_ctc.synth import crop_stats, generate, render, text  # noqa: E402


def parse_variant(name: str) -> tuple[str, dict[str, float]]:
    """'scene+min_visible=40' -> ('scene', {'min_visible': 40.0}); errors name the part."""
    style, *modifiers = name.split("+")
    if style not in render.STYLES:
        raise ValueError(f"variant {name!r}: {style!r} is not a style ({', '.join(render.STYLES)})")
    overrides = {}
    for modifier in modifiers:
        key, eq, value = modifier.partition("=")
        if not eq or key not in render.ABLATABLE:
            raise ValueError(f"variant {name!r}: {modifier!r} is not <setting>=<value> with a "
                             f"setting of {', '.join(render.ABLATABLE)}")
        overrides[key] = float(value)
    return style, overrides


def read_list(anno_file: str) -> list[tuple[str, str]]:
    """(image path, label) of every line of a `path label` file, paths made absolute."""
    root = os.path.dirname(os.path.abspath(anno_file))
    with open(anno_file, encoding="utf-8") as f:
        rows = [line.rstrip("\r\n").split(" ", 1) for line in f if line.strip()]
    return [(os.path.join(root, r[0]), r[1] if len(r) > 1 else "") for r in rows]


def measure_list(rows: list[tuple[str, str]]) -> tuple[dict, list]:
    """crop_stats of the images, plus the label lengths of those that were read."""
    values, skipped = crop_stats.measure_files([p for p, _ in rows])
    left_out = {p for p, _ in skipped}
    values["length"] = np.array([len(t) for p, t in rows if p not in left_out], np.float64)
    return values, skipped


def synthetic_list(name: str, out: str, args) -> tuple[list[tuple[str, str]], dict]:
    style, overrides = parse_variant(name)
    cfg = generate.GenerateConfig(
        output_dir=out, count=args.count, seed=args.seed, style=style,
        render_overrides=tuple(overrides.items()), font_sampling="family",
        fonts_dirs=tuple(d for d in args.fonts_dir.split(",") if d),
        case_weights=tuple(float(w) for w in args.case_weights.split(",")),
        random_share=args.random_share,
        length_weights=text.parse_length_weights(args.length_weights),
        num_workers=args.num_workers, progress=False)
    info = generate.generate(cfg)
    return read_list(os.path.join(out, "image_list.txt")), info


def describe(values: dict, real: dict | None) -> dict:
    row = {k: crop_stats.summary(v) for k, v in values.items()}
    if real is not None:
        row["ks_to_real"] = {k: round(crop_stats.ks_distance(values[k], real[k]), 3)
                             for k in values}
    return row


def markdown(rows: dict) -> str:
    names = (*crop_stats.MEASURES, "length")
    lines = ["| images | contrast p10 / p50 / p90 | sharpness p10 / p50 / p90 | aspect p50 | "
             f"tilt p50 / p90 | length p50 | KS to real: {' / '.join(names)} | render img/s |",
             "|---|---|---|---|---|---|---|---|"]
    for name, row in rows.items():
        c, s = row["contrast"], row["sharpness"]
        ks = row.get("ks_to_real")
        lines.append(f"| {name} | {c['p10']:.0f} / {c['p50']:.0f} / {c['p90']:.0f} | "
                     f"{s['p10']:.1f} / {s['p50']:.1f} / {s['p90']:.1f} | "
                     f"{row['aspect']['p50']:.2f} | {row['tilt']['p50']:.1f} / "
                     f"{row['tilt']['p90']:.1f} | {row['length']['p50']:.0f} | "
                     + (" / ".join(f"{ks[k]:.3f}" for k in names) if ks else "-")
                     + f" | {row.get('images_per_second', '-')} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anno_file", required=True, help="real TRAINING crops, `path label`")
    parser.add_argument("--variants", default="mjsynth,scene")
    parser.add_argument("--fonts_dir", default="", help="comma-separated font folders")
    parser.add_argument("--count", type=int, default=1000, help="images per variant")
    defaults = generate.GenerateConfig(output_dir="", count=1)
    parser.add_argument("--case_weights", default=",".join(map(str, defaults.case_weights)),
                        help="generator text settings (default: the generator's)")
    parser.add_argument("--random_share", type=float, default=defaults.random_share)
    parser.add_argument("--length_weights", default="scene", help="scene, words, ...")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results",
                                                      "synth_stats.json"))
    args = parser.parse_args()
    names = args.variants.split(",")
    for name in names:  # every name checked before anything is rendered
        parse_variant(name)
    crops = read_list(args.anno_file)
    random.Random(args.seed).shuffle(crops)
    real, skipped = measure_list(crops[:args.count])
    rows = {"real": {**describe(real, None), "count": len(real["contrast"]),
                     "skipped": [list(s) for s in skipped]}}
    for name in names:
        out = tempfile.mkdtemp(prefix="bench_synth_stats_")
        try:
            images, info = synthetic_list(name, out, args)
            values, _ = measure_list(images)
            rows[name] = {**describe(values, real), "count": len(images),
                          "images_per_second": info["render_images_per_second"]}
        finally:
            shutil.rmtree(out, ignore_errors=True)
        print(f"{name}: {json.dumps(rows[name]['ks_to_real'])}", file=sys.stderr, flush=True)
    result = {"machine": machine_info(), "anno_file": args.anno_file, "count": args.count,
              "seed": args.seed, "fonts_dir": args.fonts_dir, "text": {
                  "case_weights": args.case_weights, "random_share": args.random_share,
                  "length_weights": args.length_weights}, "results": rows}
    emit(result, args.out)
    print(markdown(rows), file=sys.stderr)


if __name__ == "__main__":
    main()
