"""Benchmark: which synthetic data reads REAL crops best, at a fixed training budget.

    .venv/bin/python benchmarks/bench_synth_ablation.py --fonts_dir fonts/ \
        --val_anno ../shared/real_train/val_list_photo_disjoint.txt \
        --variants v1,v2,v2-no_neighbours          # resumes: finished variants are kept

Protocol, the same for every variant (only the generator's settings differ):
  1. tools/generate_synthetic.py  --count images (60,000), --seed 0, 15% random strings, text as
                                  the variant says (v1: the crnn_en recipe's, TEXT)
  2. tools/create_tfrecord.py     lower-cased, alnum_lower charset, 2% validation split
  3. tools/train_crnn_ctc.py      --preset small, --max_train_steps steps (4,000 x 32 images)
  4. tools/eval_crnn_ctc.py       the last checkpoint, greedy decoding, case-insensitive
                                  alphanumeric word accuracy on --val_anno (real crops that
                                  choose settings; never a test set)

Variants: v1 = today's generator as the shipped model's recipe used it (style mjsynth, the pip
pool + Debian fonts in /usr/share/fonts: 167 families); v2 = style scene + --fonts_dir (the
Google Fonts pool of tools/fetch_fonts.py) on top of v1's fonts, with the real crops' label
lengths and cases (V2_TEXT; the rows of BENCHMARKS.md at 45a948f used v1's text);
v2-no_<part> = v2 with one part off (PARTS; v2-no_text: v1's text); v2-v1_fonts = v2 with v1's
fonts; v2+textures = v2 with photo and texture backgrounds (--backgrounds_dir,
tools/fetch_backgrounds.py) for half the images; v2-no_<part>+v1_fonts = a part off relative to
the generator's defaults (v1's fonts); modifiers (variant_settings) replace one
setting each. Each variant's result is written to --work/<variant>/result.json as soon as it is
done; the summary
(stdout and --out) holds all of them. Generation speed (images/s) is the generator's own
rendering rate (generate.json, without reading the font pool), with --num_workers processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.bench_create_tfrecord import emit, machine_info  # noqa: E402
from crnn_ctc.synth.render import ABLATABLE  # noqa: E402

# The crnn_en recipe's text settings (v1), and what v2 replaces: the real crops' lengths and cases
TEXT = {"case_weights": "0.35,0.35,0.25,0.05", "random_share": "0.15", "length_weights": "words"}
V2_TEXT = {"case_weights": "0.15,0.55,0.25,0.05", "length_weights": "scene"}
# v2 part -> the render settings (and text) that switch it off
PARTS = {
    "neighbours": {"render": {"neighbour_prob": 0, "lines_prob": 0}},
    "edges": {"render": {"edge_prob": 0}},
    "distractor": {"render": {"distractor_prob": 0}},
    "palette": {"render": {"palette_prob": 0}},
    "relief": {"render": {"relief_prob": 0}},
    "elastic": {"render": {"elastic_prob": 0}},
    "camera": {"render": {"motion_blur_prob": 0, "exposure_prob": 0}},
    "visibility": {"render": {"min_visible": 0}},
    "text": {"text": {}},  # v1's text settings
}


def text_flags(settings: dict) -> list[str]:
    """The generator's text flags: the protocol's (TEXT), with a variant's replacements."""
    return [f"--{k}={v}" for k, v in {**TEXT, **settings.get("text", {})}.items()]


def variant_settings(name: str, fonts_dir: str, backgrounds_dir: str = "backgrounds/") -> dict:
    """The generator settings of a variant: a base (v1, v2, v2-v1_fonts, v2-no_<part>) and
    any '+' modifiers: +textures (photo backgrounds for half the images), +v1_fonts (v1's
    fonts only, as the generator's defaults: v2-no_edges+v1_fonts), +lengths=<spec>
    (--length_weights, e.g. scene), +cases=<l:u:t:a> (--case_weights, e.g. 0.15:0.55:0.25:0.05)
    or +<setting>=<value> (a render setting replaced, e.g. v2+min_visible=40)."""
    base, *modifiers = name.split("+")
    v1_fonts = "default,/usr/share/fonts"
    v2 = {"style": "scene", "fonts": f"{v1_fonts},{fonts_dir}", "render": {}, "text": V2_TEXT}
    part = base.removeprefix("v2-no_")
    if base == "v1":
        settings = {"style": "mjsynth", "fonts": v1_fonts, "render": {}}
    elif base == "v2":
        settings = v2
    elif base == "v2-v1_fonts":
        settings = {**v2, "fonts": v1_fonts}
    elif base.startswith("v2-no_") and part in PARTS:
        settings = {**v2, **PARTS[part]}
    else:
        raise ValueError(f"unknown variant {name!r}: v1, v2, v2-v1_fonts, "
                         + ", ".join(f"v2-no_{p}" for p in PARTS)
                         + ", each with any +textures, +v1_fonts, +lengths=<spec>, "
                           "+cases=<l:u:t:a> or +<render setting>=<value>")
    for modifier in modifiers:
        key, eq, value = modifier.partition("=")
        if modifier == "textures":
            settings = {**settings, "backgrounds": backgrounds_dir}
        elif modifier == "v1_fonts" and base != "v1":  # the generator's defaults: v1's fonts
            settings = {**settings, "fonts": v1_fonts}
        elif key == "lengths" and eq:
            settings = {**settings, "text": {**settings.get("text", {}), "length_weights": value}}
        elif key == "cases" and eq:
            settings = {**settings, "text": {**settings.get("text", {}),
                                             "case_weights": value.replace(":", ",")}}
        elif eq and key in ABLATABLE:
            settings = {**settings, "render": {**settings["render"], key: float(value)}}
        else:
            raise ValueError(f"variant {name!r}: modifier {modifier!r} is neither textures, "
                             f"v1_fonts (on a v2 base), lengths=, cases= nor <setting>=<value> "
                             f"with a setting of {', '.join(ABLATABLE)}")
    return settings


def _run(cmd: list[str], log) -> float:
    start = time.perf_counter()
    print("+", " ".join(cmd), file=log, flush=True)
    subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    return time.perf_counter() - start


def run_variant(name: str, args) -> dict:
    work = os.path.join(args.work, name)
    done = os.path.join(work, "result.json")
    settings = variant_settings(name, args.fonts_dir, args.backgrounds_dir)
    if os.path.exists(done):
        with open(done, encoding="utf-8") as f:
            kept = json.load(f)
        if kept["settings"] != settings:  # e.g. a v2 run before v2 had the real crops' text
            raise SystemExit(f"{done} was run with other settings ({kept['settings']}, now "
                             f"{settings}): give another --work or move it away")
        return kept
    os.makedirs(work, exist_ok=True)
    py = sys.executable
    synth, records, model = (os.path.join(work, d) for d in ("synth", "tfrecords", "train"))
    with open(os.path.join(work, "log.txt"), "a", encoding="utf-8") as log:
        render = [f"{k}={v}" for k, v in settings["render"].items()]
        seconds = {"generate": _run([
            py, "tools/generate_synthetic.py", "--output_dir", synth, "--count", str(args.count),
            "--seed", str(args.seed), "--style", settings["style"], "--fonts_dir",
            settings["fonts"], "--font_sampling", "family", "--num_workers",
            str(args.num_workers), "--progress=false", *text_flags(settings),
            *(["--render", ",".join(render)] if render else []),
            *(["--backgrounds_dir", settings["backgrounds"]] if "backgrounds" in settings
              else [])], log)}
        seconds["convert"] = _run([
            py, "tools/create_tfrecord.py", "--image_dir", synth, "--anno_file",
            os.path.join(synth, "image_list.txt"), "--data_dir", records, "--lowercase",
            "--charset", "alnum_lower", "--validation_split_fraction", "0.02",
            "--progress=false"], log)
        seconds["train"] = _run([
            py, "tools/train_crnn_ctc.py", "--data_dir", records, "--model_dir", model,
            "--preset", "small", "--max_train_steps", str(args.steps), "--eval_every",
            str(args.steps), "--save_every", str(args.steps // 4)], log)
        out = os.path.join(work, "eval.json")
        seconds["eval"] = _run([
            py, "tools/eval_crnn_ctc.py", "--model_dir", model, "--checkpoint", "latest",
            "--anno_file", args.val_anno, "--beam_width", "0", "--alnum_only",
            "--output_json", out], log)
    with open(out, encoding="utf-8") as f:
        metrics = json.load(f)
    with open(os.path.join(synth, "generate.json"), encoding="utf-8") as f:
        gen = json.load(f)
    result = {"variant": name, "settings": settings, "images": gen["images"],
              "families": len(gen["families"]), "skipped": len(gen["skipped"]),
              "images_per_second": gen["render_images_per_second"],
              "images_per_second_per_worker": round(
                  gen["render_images_per_second"] / args.num_workers, 1),
              "word_accuracy": metrics["total"]["word_accuracy"], "cer": metrics["total"]["cer"],
              "val_count": metrics["total"]["count"], "checkpoint": metrics["checkpoint"],
              "seconds": {k: round(v, 1) for k, v in seconds.items()}}
    with open(done, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
    if not args.keep:  # the images are the bulk: 60,000 JPEGs
        subprocess.run(["rm", "-rf", synth], check=False)
    return result


def markdown(results: list[dict]) -> str:
    """The results as the BENCHMARKS.md table (points vs v2 where v2 is among them)."""
    base = next((r["word_accuracy"] for r in results if r["variant"] == "v2"), None)
    lines = ["| variant | word accuracy | CER | vs v2 (points) | families | render img/s per "
             "worker | train s |", "|---|---|---|---|---|---|---|"]
    for r in results:
        delta = "" if base is None or r["variant"] == "v2" else \
            f"{100 * (r['word_accuracy'] - base):+.2f}"
        lines.append(f"| {r['variant']} | {100 * r['word_accuracy']:.2f}% | "
                     f"{100 * r['cer']:.2f}% | {delta} | {r['families']} | "
                     f"{r['images_per_second_per_worker']} | {r['seconds']['train']:.0f} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="v1,v2")
    parser.add_argument("--fonts_dir", default="fonts/", help="tools/fetch_fonts.py's folder")
    parser.add_argument("--backgrounds_dir", default="backgrounds/",
                        help="tools/fetch_backgrounds.py's folder (variant v2+textures)")
    parser.add_argument("--val_anno", required=True, help="real validation crops")
    parser.add_argument("--work", default="runs/synth_ablation")
    parser.add_argument("--count", type=int, default=60_000)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the rendered images")
    parser.add_argument("--out", default="benchmarks/results/synth_ablation.json")
    args = parser.parse_args()
    results = []
    for name in args.variants.split(","):
        print(f"variant {name} ...", file=sys.stderr, flush=True)
        results.append(run_variant(name, args))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    summary = {"machine": machine_info(), "protocol": {
        "count": args.count, "steps": args.steps, "batch": 32, "preset": "small",
        "seed": args.seed, "val_anno": args.val_anno}, "results": results}
    emit(summary, args.out)
    print(markdown(results), file=sys.stderr)


if __name__ == "__main__":
    main()
