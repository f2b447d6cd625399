"""Read the text of every image in a folder with an exported model or a training checkpoint.

    python tools/inference_crnn_ctc.py --image_dir crops/     # the shipped models/crnn_en
    python tools/inference_crnn_ctc.py --model_dir exported/crnn --image_dir crops/
    python tools/inference_crnn_ctc.py --model_dir runs/small --image_dir crops/ \
        --image_list crops/todo.txt --beam_width 10 --top_paths 3 --output_file out.jsonl

--model_dir is a SavedModel version folder, an export base folder (its highest version), a
training folder (config.json + checkpoints; --checkpoint picks best or latest), or a LiteRT
(.tflite) or ONNX (.onnx) file from export_crnn_ctc.py --format: those run without TensorFlow
(ai-edge-litert or onnxruntime), decoded by --beam_width / --top_paths. Images may have
any size and be JPEG, PNG, GIF or BMP (decoded by TensorFlow, or by OpenCV/Pillow for a
.tflite/.onnx model); unreadable ones are reported with
the reason and skipped. Prints "Predict <name> image as: <text>" per image; --output_file writes
image, text, score rows as .jsonl or .csv.
"""

import csv
import json
import os

from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.data import image_files

flags.DEFINE_string("model_dir", None, "SavedModel, export base folder, training folder, or a "
                    ".tflite / .onnx file (default: the shipped English model models/crnn_en)")
flags.DEFINE_string("checkpoint", "best", "training folder only: best | latest | a path")
flags.DEFINE_string("image_dir", None, "folder of images")
flags.DEFINE_string("image_list", None, "file naming the images to read, relative to --image_dir")
flags.DEFINE_integer("beam_width", 10, "CTC beam width (0 = greedy); a SavedModel keeps its own")
flags.DEFINE_integer("top_paths", 1, "texts per image (beam search)")
flags.DEFINE_integer("batch_size", 32, "images per call")
flags.DEFINE_string("output_file", None, "write results here: .jsonl or .csv")
flags.mark_flags_as_required(["image_dir"])
FLAGS = flags.FLAGS


def write_results(path: str, rows: list[dict], top_paths: int) -> None:
    if path.endswith(".jsonl"):
        with open(path, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        extra = [f"{k}_{i}" for i in range(2, top_paths + 1) for k in ("text", "score")]
        writer.writerow(["image", "text", "score", *extra])
        for row in rows:
            pairs = zip(row.get("texts", [])[1:], row.get("scores", [])[1:], strict=True)
            alts = [v for pair in pairs for v in pair]
            writer.writerow([row["image"], row["text"], row["score"], *alts])


def _recognizer():
    """The model --model_dir names, decoded as the flags say (a SavedModel: as exported, unless
    they are given). A .tflite / .onnx file loads without importing TensorFlow."""
    from crnn_ctc.model.decoder import Decoder  # noqa: PLC0415
    from crnn_ctc.portable.contract import model_format  # noqa: PLC0415

    kind = "beam" if FLAGS.beam_width > 1 or FLAGS.top_paths > 1 else "greedy"
    decoder = Decoder(kind, max(FLAGS.beam_width, 1), FLAGS.top_paths)
    if FLAGS.model_dir and model_format(FLAGS.model_dir):
        from crnn_ctc.portable.recognizer import PortableRecognizer  # noqa: PLC0415

        return PortableRecognizer.load(FLAGS.model_dir, decoder)
    from crnn_ctc.serve import pretrained, recognizer, versions  # noqa: PLC0415 (TF after flags)

    model_dir = pretrained.model_dir(FLAGS.model_dir)
    asked = FLAGS["beam_width"].present or FLAGS["top_paths"].present
    if not asked and versions.resolve(model_dir)[0] != "checkpoint":
        decoder = None  # a SavedModel decodes as exported
    return recognizer.Recognizer.load(model_dir, FLAGS.checkpoint, decoder)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    out = FLAGS.output_file
    if out and not out.endswith((".jsonl", ".csv")):
        raise app.UsageError(f"--output_file must end in .jsonl or .csv, not {out}")
    try:
        names, problems = image_files.list_images(FLAGS.image_dir, FLAGS.image_list)
        rec = _recognizer()
    except (ValueError, FileNotFoundError, ModuleNotFoundError) as err:
        logging.error("%s", err)
        return 1
    for problem in problems:
        logging.warning("skipped: %s", problem)
    logging.info("reading %d images with %s", len(names), rec.source)
    paths = [os.path.join(FLAGS.image_dir, n) for n in names]
    rows, skipped = [], len(problems)
    results = rec.recognize_files(paths, FLAGS.batch_size)
    for name, (_, row, reason) in zip(names, results, strict=True):
        if row is None:
            logging.warning("skipped %s: %s", name, reason)
            skipped += 1
            continue
        print(f"Predict {name} image as: {row['text']}  (score {row['score']:.4f})")
        row = {"image": name, **row, "score": round(row["score"], 4)}
        if "scores" in row:
            row["scores"] = [round(x, 4) for x in row["scores"]]
        rows.append(row)
    logging.info("read %d images, skipped %d", len(rows), skipped)
    if out:
        write_results(out, rows, max(len(r.get("texts", [])) for r in rows) if rows else 1)
        logging.info("wrote %s", out)
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
