"""Renders MJSynth-like word images: images/ + image_list.txt for create_tfrecord.py.

    python tools/generate_synthetic.py --output_dir synth/train --count 50000 --font_split train
    python tools/generate_synthetic.py --output_dir synth/test --count 2000 --font_split test \
        --seed 1
    python tools/create_tfrecord.py --image_dir synth/train \
        --anno_file synth/train/image_list.txt --data_dir tfrecords/

Same --seed and settings, same images, for any --num_workers. --font_split test draws only
font families that --font_split train never uses. Fonts: the default pool installed by
requirements.txt (DejaVu, STIX, Computer Modern, Roboto, Source Sans/Serif, Hanken Grotesk,
Fredoka One, Amatic SC, Intuitive) or any --fonts_dir of TTF/OTF files. Words: SCOWL's
English list (crnn_ctc/synth/words_en.txt) or --words.
"""


from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.data.charset import PRESETS
from crnn_ctc.synth import generate, render, text
from crnn_ctc.synth.fonts import FONT_SPLITS
from crnn_ctc.synth.generate import FONT_SAMPLING

_D = generate.GenerateConfig
flags.DEFINE_string("output_dir", None, "Where images/, image_list.txt and generate.json go.")
flags.DEFINE_integer("count", 1000, "Images to render.")
flags.DEFINE_integer("seed", _D.seed, "Random seed: the same seed gives the same images.")
flags.DEFINE_integer("num_workers", _D.num_workers, "Worker processes; 0 = one per CPU core.")
flags.DEFINE_string("charset", "", f"What may appear: a preset ({', '.join(PRESETS)}) "
                    "or a charset file (one symbol per line); default: alnum for words, "
                    "printable (space included) for --style line.")  # fmt: skip
flags.DEFINE_string("words", None, "Word list file, one word per line (default: "
                    "crnn_ctc/synth/words_en.txt, SCOWL English, 74,585 words).")  # fmt: skip
flags.DEFINE_float("random_share", _D.random_share,
                   "Share of random strings instead of words.")
flags.DEFINE_float("digit_share", _D.digit_share,
                   "Of the random strings, the share made of digits only.")
flags.DEFINE_float("token_share", _D.token_share,
                   "Words: share of texts drawn as sign/receipt tokens (a word with punctuation "
                   "attached, a number, price, date or code) where the charset has their "
                   "characters (e.g. --charset printable). Lines always mix them in.")
flags.DEFINE_integer("max_length", 0, "Longest text in characters; 0 = 16 for words, "
                     "64 for --style line.")
flags.DEFINE_list("case_weights", [], f"Weights of the word cases {', '.join(text.CASES)}; "
                  f"default {','.join(map(str, generate.WORD_CASES))} for words, "
                  f"{','.join(map(str, generate.LINE_CASES))} for lines.")
flags.DEFINE_string("length_weights", "auto", "How long texts are: auto = scene for words, "
                    "line for --style line; scene = the label "
                    "lengths of real scene-text crops (median 5); line = those of real "
                    "text-line crops (receipts and forms, median 11); words = as the word list has "
                    "them (median 8 letters), random strings uniform up to 10; or weights of "
                    "lengths 1,2,3,... (0,0,3,5,4) or length:weight pairs (3:5,4:5).")
flags.DEFINE_list("fonts_dir", [], "Folders of TTF/OTF fonts (default: the pip-installed pool); "
                  "the entry 'default' stands for that pool: default,/usr/share/fonts")
flags.DEFINE_enum("font_split", _D.font_split, FONT_SPLITS,
                  "all fonts, or only the training / held-out test families.")
flags.DEFINE_enum("font_sampling", _D.font_sampling, list(FONT_SAMPLING),
                  "font: every font file equally likely; family: every family equally likely, "
                  "then one of its styles (for large pools where some families have 40 weights).")
flags.DEFINE_float("test_font_share", _D.test_font_share,
                   "Share of font families held out for --font_split test.")
flags.DEFINE_enum("style", _D.style, list(render.STYLES),
                  "scene: crops as a detector cuts them from photos (neighbouring letters, real "
                  "colour pairs, relief, camera effects); mjsynth: distortions, textures, blur, "
                  "noise, JPEG; clean: nearly clean print; line: whole text lines of 1-10 words, "
                  "numbers, prices, dates and codes (receipts, forms, labels).")
flags.DEFINE_list("render", [], "Style settings replaced, name=value (e.g. neighbour_prob=0,"
                  f"relief_prob=0.3); names: {', '.join(render.ABLATABLE)}.")
flags.DEFINE_string("backgrounds_dir", None, "Folder of photos to crop backgrounds from, as "
                    "MJSynth did (mjsynth style: half the images). Never an evaluation set.")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.mark_flag_as_required("output_dir")
FLAGS = flags.FLAGS


def _overrides(items: list[str]) -> tuple[tuple[str, float], ...]:
    out = []
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out.append((name.strip(), float(value)))
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"--render {item!r}: write name=number, e.g. edge_prob=0")
    return tuple(out)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        cfg = generate.GenerateConfig(
            output_dir=FLAGS.output_dir, count=FLAGS.count, seed=FLAGS.seed,
            num_workers=FLAGS.num_workers, charset=FLAGS.charset, words=FLAGS.words or "",
            random_share=FLAGS.random_share, digit_share=FLAGS.digit_share,
            token_share=FLAGS.token_share,
            max_length=FLAGS.max_length,
            case_weights=tuple(float(w) for w in FLAGS.case_weights) or None,
            length_weights=None if FLAGS.length_weights == "auto"
            else text.parse_length_weights(FLAGS.length_weights),
            fonts_dirs=tuple(FLAGS.fonts_dir), font_split=FLAGS.font_split,
            font_sampling=FLAGS.font_sampling,
            test_font_share=FLAGS.test_font_share, style=FLAGS.style,
            backgrounds_dir=FLAGS.backgrounds_dir or "", progress=FLAGS.progress,
            render_overrides=_overrides(FLAGS.render),
        )
        summary = generate.generate(cfg)
    except (ValueError, FileNotFoundError) as err:
        logging.error("%s", err)
        return 1
    logging.info("wrote %d images (%d skipped) to %s in %.1f s, %.0f images/s",
                 summary["images"], len(summary["skipped"]), FLAGS.output_dir,
                 summary["seconds"], summary["images_per_second"])
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
