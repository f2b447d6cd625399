"""Contact sheet of the generator's styles side by side (docs/synth_styles.jpg).

    .venv/bin/python benchmarks/synth_sheet.py --fonts_dir default,/usr/share/fonts,fonts/

Each row is one word in one font: first the `mjsynth` style, then `scene`, both from the same
seed; the label (what the image reads, upper-cased for caps-only faces) is printed under it.
Words follow the generator's default text settings; a draw the style refuses (washed out) is
drawn again, as the generator does.
"""

import argparse
import os
import sys

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from crnn_ctc.synth import fonts, generate, render  # noqa: E402
from crnn_ctc.synth import text as text_lib  # noqa: E402

ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TILE = (200, 64)


def tile(image: np.ndarray, caption: str) -> np.ndarray:
    out = np.full((TILE[1] + 18, TILE[0], 3), 255, np.uint8)
    out[:TILE[1]] = cv2.resize(image, TILE, interpolation=cv2.INTER_AREA)
    cv2.putText(out, caption[:24], (3, TILE[1] + 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0),
                1, cv2.LINE_AA)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts_dir", default="default")
    parser.add_argument("--styles", default="mjsynth,scene")
    parser.add_argument("--rows", type=int, default=12)
    parser.add_argument("--per_style", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", default="docs/synth_styles.jpg")
    args = parser.parse_args()
    pool, _ = fonts.discover(args.fonts_dir.split(","), ALNUM)
    defaults = generate.GenerateConfig(output_dir="", count=1)
    sampler = text_lib.TextSampler(text_lib.TextConfig(
        charset=ALNUM, random_share=defaults.random_share, case_weights=defaults.case_weights,
        length_weights=defaults.length_weights), text_lib.load_words())
    styles = args.styles.split(",")
    rows, i = [], 0
    while len(rows) < args.rows:
        i += 1
        pick = np.random.default_rng((args.seed, i))
        word = sampler.sample(pick)
        usable = [f for f in pool if f.covers(word) and f.label(word, set(ALNUM))]
        families = sorted({f.family for f in usable})
        family = families[int(pick.integers(len(families)))]
        font = [f for f in usable if f.family == family][0]
        tiles = []
        for name in styles:
            for k in range(args.per_style):
                image = np.full((TILE[1], TILE[0], 3), 255, np.uint8)
                for attempt in range(generate.MAX_TRIES):
                    rng = np.random.default_rng((args.seed, i, k, attempt))
                    try:
                        image = render.render(word, font, rng, render.style(name), None, ALNUM)
                        break
                    except ValueError:
                        continue
                tiles.append(tile(image, f"{name}: {font.label(word, set(ALNUM))}"))
        rows.append(np.concatenate(tiles, axis=1))
    sheet = np.concatenate(rows, axis=0)
    cv2.imwrite(args.out, sheet[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(args.out, sheet.shape)


if __name__ == "__main__":
    main()
