"""Evaluate a trained CRNN: word accuracy and CER, greedy or beam search.

On the validation TFRecords:
    python tools/eval_crnn_ctc.py --model_dir runs/small --data_dir tfrecords/
On image benchmarks (`path label` files; paths relative to each file's folder), with the shipped
English model models/crnn_en when --model_dir is not given:
    python tools/eval_crnn_ctc.py \
        --anno_file ../shared/real_eval/IIIT5K/labels.txt,../shared/real_eval/SVT/labels.txt

The default protocol is the benchmarks' one: case-insensitive, ASCII letters and digits only.
"""

import json

from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.model.decoder import TALL_RATIO

flags.DEFINE_string("model_dir", None, "training folder (config.json + checkpoints); default: "
                    "the shipped English model models/crnn_en")
flags.DEFINE_string("checkpoint", "best", "best | latest | a checkpoint path (ckpt-N prefix)")
flags.DEFINE_string("data_dir", None, "TFRecords folder to evaluate (its --split)")
flags.DEFINE_string("split", "validation", "split of --data_dir")
flags.DEFINE_list("anno_file", [], "`path label` files to evaluate, comma-separated")
flags.DEFINE_string("image_dir", None, "root of --anno_file paths (default: each file's folder)")
flags.DEFINE_integer("beam_width", 0, "CTC beam width (0 = greedy)")
flags.DEFINE_boolean("case_sensitive", False, "compare case-sensitively")
flags.DEFINE_boolean("alnum_only", True, "ignore everything but ASCII letters and digits")
flags.DEFINE_integer("batch_size", 64, "images per batch")
flags.DEFINE_float("tall_ratio", TALL_RATIO, "--anno_file crops taller than this x their width are "
                   "also read turned 90 degrees each way, as the exported model reads them; 0 = "
                   "as they are")
flags.DEFINE_string("output_json", None, "write metrics and every prediction here")
flags.DEFINE_string("contact_sheet", None, "write a PNG of images with their predictions here "
                    "(--anno_file sets; one file per set when there are several)")
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from crnn_ctc.evaluate import report  # noqa: PLC0415 (TensorFlow after flag parsing)
    from crnn_ctc.serve import pretrained

    try:
        model_dir = pretrained.model_dir(FLAGS.model_dir)
    except FileNotFoundError as err:
        logging.error("%s", err)
        return 1
    cfg = report.EvalConfig(
        model_dir=model_dir, checkpoint=FLAGS.checkpoint, data_dir=FLAGS.data_dir or "",
        split=FLAGS.split, anno_files=tuple(FLAGS.anno_file), image_dir=FLAGS.image_dir or "",
        beam_width=FLAGS.beam_width, case_sensitive=FLAGS.case_sensitive,
        alnum_only=FLAGS.alnum_only, batch_size=FLAGS.batch_size, tall_ratio=FLAGS.tall_ratio,
    )
    try:
        result = report.run(cfg)
    except (ValueError, FileNotFoundError) as err:
        logging.error("%s", err)
        return 1
    print(report.format_table(result))
    if FLAGS.output_json:
        with open(FLAGS.output_json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
        logging.info("wrote %s", FLAGS.output_json)
    if FLAGS.contact_sheet:
        written = report.write_contact_sheets(result, FLAGS.contact_sheet)
        if not written:
            logging.warning("--contact_sheet: no set with image files (TFRecords only)")
        for path in written:
            logging.info("wrote contact sheet %s", path)
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
