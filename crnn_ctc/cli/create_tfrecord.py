"""Converts an annotation file and its images into sharded TFRecords for CRNN training.

    python tools/create_tfrecord.py --image_dir test_data/images \
        --anno_file test_data/image_list.txt --data_dir tfrecords/

Writes train-0000i-of-0000N.tfrecord, validation-...tfrecord, charset.txt, dataset.json and
skipped.tsv into --data_dir. Bad lines and images are skipped and listed with a reason; the run
exits 0 unless --strict is set and something was skipped. See README.md, "create_tfrecord.py".
"""


from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.data import annotations, convert, formats
from crnn_ctc.data.charset import PRESETS
from crnn_ctc.data.resize_rule import RULES

_D = convert.ConvertConfig  # defaults live in one place
flags.DEFINE_string("image_dir", None, "Root folder; annotation paths are relative to it.")
flags.DEFINE_string("anno_file", None, "Annotation file (not used with --anno_format=filename).")
flags.DEFINE_string("data_dir", _D.data_dir, "Output folder for shards and reports.")
flags.DEFINE_enum("anno_format", _D.anno_format, annotations.FORMATS,
                  "list: 'path label' (label = rest of the line); synth90k: 'path index', label "
                  "from the N_word_K file name or --lexicon_file; filename: label from each "
                  "image's file name under --image_dir.")  # fmt: skip
flags.DEFINE_string("lexicon_file", None, "Synth90k lexicon.txt: label = line <index> (0-based).")
flags.DEFINE_string("filename_pattern", _D.filename_pattern,
                    "--anno_format=filename: regex matched at the start of the file stem; the "
                    "label is group 1, or the whole match if it has no group.")  # fmt: skip
flags.DEFINE_float(
    "validation_split_fraction",
    _D.validation_split_fraction,
    "Share of images (by a hash of the path) in the validation split.",
)
flags.DEFINE_integer("num_shards", _D.num_shards, "Train shards; 0 = auto (~150 MB a shard). "
                     "Validation gets shards in proportion.")  # fmt: skip
flags.DEFINE_integer("num_workers", _D.num_workers, "Worker processes; 0 = every usable core.")
flags.DEFINE_string("charset", None, f"Charset file or preset ({', '.join(PRESETS)}); "
                    "default: every symbol the labels use.")  # fmt: skip
flags.DEFINE_bool("lowercase", _D.lowercase, "Fold labels to lower case (Synth90k convention).")
flags.DEFINE_bool("strip_unknown", _D.strip_unknown,
                  "Drop the label characters --charset lacks instead of skipping the line "
                  "(\"Lowe's\" -> \"lowes\" with --lowercase --charset alnum_lower, the scene-text "
                  "benchmarks' protocol); a label left empty is skipped.")
flags.DEFINE_integer("image_height", _D.image_height, "Stored image height.")
flags.DEFINE_integer("image_width", _D.image_width, "Stored image width (--resize stretch), "
                     "or the widest a crop may become (keep_aspect; wider ones are squeezed "
                     "to it and counted in dataset.json).")
flags.DEFINE_enum("resize", _D.resize, list(RULES), "stretch: every crop to image_height x "
                  "image_width, aspect not kept (words); keep_aspect: scaled to image_height "
                  "keeping the aspect, stored at its own width (text lines).")
flags.DEFINE_integer("min_width", _D.min_width, "keep_aspect: crops narrower than this at "
                     "image_height are stretched to it, so short words get min_width // 4 CTC "
                     "steps (0 = every crop at its own width).")
flags.DEFINE_enum(
    "image_format",
    _D.image_format,
    ["png", "jpeg"],
    "Encoding of the stored images: png is lossless, jpeg about half the size.",
)
flags.DEFINE_integer("jpeg_quality", _D.jpeg_quality, "Quality for --image_format=jpeg.")
flags.DEFINE_integer("max_label_length", _D.max_label_length,
                     "Longest label in CTC steps (length + adjacent repeats); 0 = the model's "
                     "time steps, image_width // 4.")  # fmt: skip
flags.DEFINE_integer(
    "max_image_pixels",
    formats.DEFAULT_MAX_PIXELS,
    "Images with more pixels are skipped before decoding.",
)
flags.DEFINE_integer("task_index", _D.task_index, "This machine's part, in [0, num_tasks).")
flags.DEFINE_integer("num_tasks", _D.num_tasks, "Machines converting one annotation file.")
flags.DEFINE_integer("seed", _D.seed, "Seed of the record order within each shard.")
flags.DEFINE_bool("strict", False, "Exit non-zero if any line was skipped.")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.mark_flag_as_required("image_dir")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    names = [f.name for f in convert.ConvertConfig.__dataclass_fields__.values()]
    cfg = convert.ConvertConfig(**{name: FLAGS[name].value for name in names})
    try:
        summary = convert.convert(cfg)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    splits = summary["splits"]
    logging.info(
        "wrote %d train + %d validation records to %s in %.2f s (%.0f images/s); "
        "skipped %d lines %s (see skipped.tsv); charset: %d symbols",
        splits["train"]["records"], splits["validation"]["records"], cfg.data_dir,
        summary["elapsed_seconds"], summary["images_per_second"] or 0,
        summary["skipped_total"], summary["skipped"], summary["charset"]["size"],
    )  # fmt: skip
    if "squeezed" in summary:
        logging.info("keep_aspect: %d records were wider than %d px at height %d and were "
                     "squeezed to it", summary["squeezed"], cfg.image_width, cfg.image_height)
    if summary["records"] == 0 and cfg.num_tasks == 1:
        logging.error("no line could be converted; the reasons are in skipped.tsv")
        return 1
    if FLAGS.strict and summary["skipped_total"]:
        logging.error("--strict: %d lines were skipped", summary["skipped_total"])
        return 1
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
