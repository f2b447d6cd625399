"""Export a trained CRNN: a versioned SavedModel for TF Serving, or LiteRT (TFLite) and ONNX files.

    python tools/export_crnn_ctc.py --model_dir runs/small --export_dir exported/crnn
    # -> exported/crnn/1/ (the next version each run); serve with
    docker run -p 8500:8500 -p 8501:8501 -v "$PWD/exported/crnn:/models/crnn" \
        -e MODEL_NAME=crnn tensorflow/serving

The serving_default signature takes image_bytes (string [B], raw JPEG/PNG/GIF/BMP bytes of any
size) and returns text (string [B]) and score (float32 [B], log-probability); predict_images
takes decoded uint8 images [B, h, w, 3]. docs/serving.md has the REST/gRPC details.

Portable files for phones, boards and ONNX Runtime (the CRNN up to its per-step logits; the
CTC decoding runs outside, in crnn_ctc.portable, without TensorFlow):

    python tools/export_crnn_ctc.py --model_dir runs/small --export_dir exported/edge \
        --format tflite --variants fp32,fp16,dynamic,int8 --calibration_data tfrecords/
    python tools/export_crnn_ctc.py --model_dir runs/small --export_dir exported/edge \
        --format onnx
    # -> exported/edge/crnn_<variant>.tflite / crnn_fp32.onnx, each with <file>.json beside it
    #    (the input contract: size, dtype, resize rule, charset, blank id)
"""


from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.model.decoder import TALL_RATIO

flags.DEFINE_string("model_dir", None, "training folder (config.json + checkpoints)")
flags.DEFINE_string("checkpoint", "best", "best | latest | a checkpoint path (ckpt-N prefix)")
flags.DEFINE_string("export_dir", None, "export base folder; the version is a subfolder")
flags.DEFINE_integer("version", 0, "version number (default: one more than the highest present)")
flags.DEFINE_enum("decoder", "beam", ["beam", "greedy"], "CTC decoding inside the graph")
flags.DEFINE_integer("beam_width", 10, "beam width of --decoder beam")
flags.DEFINE_integer("top_paths", 1, "texts per image; > 1 adds the texts/scores outputs")
flags.DEFINE_integer("max_pixels", 4096 * 4096,
                     "images whose header says more pixels are refused (error output)")
flags.DEFINE_bool("hard_errors", False, "fail the whole request with INVALID_ARGUMENT when an "
                  "image is bad, instead of answering it with text '', score -inf and its "
                  "reason in the 'error' output (the rest of the batch read)")
flags.DEFINE_float("tall_ratio", TALL_RATIO, "crops taller than this x their width are also "
                   "read turned 90 degrees each way; the read whose text is the most probable "
                   "is kept. 0 = read every crop as it is")
flags.DEFINE_bool("with_weights", False, "also write config.json and the model weights (best/) "
                  "into --export_dir, so it is a training folder too: eval and --init_from "
                  "read it (how models/crnn_en is made)")
flags.DEFINE_enum("precision", "fp32", ["fp32", "bf16"],
                  "bf16: run the CNN in bfloat16 (faster on CPUs with AVX512-BF16 or AMX and a "
                  "oneDNN TF Serving build; emulated and slower elsewhere). LSTMs, logits and "
                  "decoding stay float32. BENCHMARKS.md has its accuracy check")
flags.DEFINE_list("warmup_batch_sizes", ["1", "8"],
                  "batch sizes of the TF Serving warmup requests; empty = no warmup file")
flags.DEFINE_enum("format", "savedmodel", ["savedmodel", "tflite", "onnx"],
                  "savedmodel: a versioned SavedModel for TF Serving (decoder inside); tflite / "
                  "onnx: portable files of the CRNN up to its per-step logits")
flags.DEFINE_list("variants", ["fp32"], "tflite: any of fp32, fp16, dynamic, int8; onnx: fp32")
flags.DEFINE_string("calibration_data", None, "int8: a TFRecords folder (its train split) or an "
                    "image folder of YOUR training data (never a test set)")
flags.DEFINE_string("calibration_list", None, "int8: images of --calibration_data to pick from")
flags.DEFINE_integer("calibration_images", 1024, "int8: how many calibration images")
flags.mark_flags_as_required(["model_dir", "export_dir"])
FLAGS = flags.FLAGS


SAVEDMODEL_ONLY = ("version", "decoder", "beam_width", "top_paths", "max_pixels", "hard_errors",
                   "tall_ratio", "with_weights", "precision", "warmup_batch_sizes")
PORTABLE_ONLY = ("variants", "calibration_data", "calibration_list", "calibration_images")


def _check_flags() -> None:
    """A flag of the other kind of export would be ignored: refuse it instead."""
    other = PORTABLE_ONLY if FLAGS.format == "savedmodel" else SAVEDMODEL_ONLY
    given = [f"--{name}" for name in other if FLAGS[name].present]
    if given:
        raise app.UsageError(f"{', '.join(given)} do not apply to --format {FLAGS.format}")


def _export_portable() -> int:
    from crnn_ctc.portable import export as portable  # noqa: PLC0415 (TensorFlow after flags)

    try:
        cfg = portable.PortableConfig(
            model_dir=FLAGS.model_dir, export_dir=FLAGS.export_dir, format=FLAGS.format,
            variants=tuple(FLAGS.variants), checkpoint=FLAGS.checkpoint,
            calibration_data=FLAGS.calibration_data or "",
            calibration_list=FLAGS.calibration_list or "",
            calibration_images=FLAGS.calibration_images)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    try:
        paths = portable.export_portable(cfg)
    except (ValueError, FileNotFoundError, FileExistsError, ModuleNotFoundError) as err:
        logging.error("%s", err)
        return 1
    for path in paths:
        print(f"exported {path} (contract: {path}.json)")
    return 0


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    _check_flags()
    if FLAGS.format != "savedmodel":
        return _export_portable()
    from crnn_ctc.serve import export, graph  # noqa: PLC0415 (TensorFlow loads after flag parsing)
    from crnn_ctc.train import checkpoints

    try:
        decoder = graph.Decoder(FLAGS.decoder, FLAGS.beam_width, FLAGS.top_paths,
                                FLAGS.max_pixels, FLAGS.hard_errors, FLAGS.tall_ratio)
        sizes = tuple(int(s) for s in FLAGS.warmup_batch_sizes)
    except ValueError as err:
        raise app.UsageError(str(err)) from err
    cfg = export.ExportConfig(
        model_dir=FLAGS.model_dir, export_dir=FLAGS.export_dir, checkpoint=FLAGS.checkpoint,
        version=FLAGS.version, decoder=decoder, warmup_batch_sizes=sizes,
        precision=FLAGS.precision,
    )
    try:
        path = export.export(cfg)
    except (ValueError, FileNotFoundError, FileExistsError) as err:
        logging.error("%s", err)
        return 1
    if FLAGS.with_weights:
        weights = checkpoints.save_weights(FLAGS.model_dir, FLAGS.export_dir, FLAGS.checkpoint)
        print(f"wrote the weights and config.json for eval and fine-tuning: {weights}")
    meta = export.read_metadata(path)
    print(f"exported {meta['checkpoint']} to {path} "
          f"({decoder.kind} decoder, beam {decoder.beam_width}, top_paths {decoder.top_paths}, "
          f"{cfg.precision})")
    return 0


if __name__ == "__main__":
    run_tool(main, __doc__)
