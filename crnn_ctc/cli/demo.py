"""The main job: the whole toolkit on synthetic words, on CPU, in about 12 minutes on 2 cores.

    python tools/run_demo.py                  # everything goes into demo/

1. generate_synthetic.py   a training set (training font families) and a held-out set (other
                           font families, never seen in training)
2. create_tfrecord.py      the training set -> TFRecords (case folded, 2% validation)
3. train_crnn_ctc.py       the `demo` preset (crnn_ctc/train/presets.py), bounded steps
4. eval_crnn_ctc.py        word accuracy and CER on the held-out fonts + a contact sheet PNG
5. export_crnn_ctc.py      a SavedModel for TF Serving
6. inference_crnn_ctc.py   reads test_data/images through the SavedModel
7. inference_crnn_ctc.py   reads them again with the shipped English model (models/crnn_en,
                           trained far longer on harder images), for comparison

Each step runs the real tool as a subprocess and prints its command line, so any step can be
rerun by hand. The work folder is wiped at the start if an earlier demo made it; any other
non-empty folder is refused.
"""

import json
import os
import shutil
import subprocess
import sys
import time

from absl import app, flags

from crnn_ctc import resources
from crnn_ctc.cli import run_tool

# Each step's tool: (module in crnn_ctc.cli, launcher in a checkout's tools/).
TOOLS = {
    "generate": ("generate_synthetic", "generate_synthetic.py"),
    "convert": ("create_tfrecord", "create_tfrecord.py"),
    "train": ("train", "train_crnn_ctc.py"),
    "eval": ("eval", "eval_crnn_ctc.py"),
    "export": ("export", "export_crnn_ctc.py"),
    "inference": ("inference", "inference_crnn_ctc.py"),
}
MARKER = ".crnn_ctc_demo"

flags.DEFINE_string("work_dir", "demo", "Folder for everything the demo makes.")
flags.DEFINE_integer("train_count", 40_000, "Training images to render.")
flags.DEFINE_integer("test_count", 2_000, "Held-out images to render (held-out font families).")
flags.DEFINE_enum("style", "clean", ["clean", "mjsynth"],
                  "Rendering style of both sets (clean: ~95% on unseen fonts in the budget; "
                  "mjsynth: harder, ~78% at 3000 steps).")
flags.DEFINE_integer("max_train_steps", 0, "Training steps; 0 = the demo preset's.")
flags.DEFINE_integer("num_workers", 0, "Worker processes for rendering and conversion.")
flags.DEFINE_string("image_dir", None, "Images read back through the exported model at the end "
                    "(default: the repository's test_data/images).")
FLAGS = flags.FLAGS


def _prepare(work: str) -> None:
    if os.path.isdir(work) and os.listdir(work):
        if not os.path.exists(os.path.join(work, MARKER)):
            raise app.UsageError(f"--work_dir {work} is not empty and was not made by "
                                 "run_demo.py: give another folder")
        shutil.rmtree(work)
    os.makedirs(work, exist_ok=True)
    open(os.path.join(work, MARKER), "w").close()


def _shown(tool: str) -> str:
    """How a user reruns the step: the checkout's tools/ launcher, else the console command."""
    module, launcher = TOOLS[tool]
    if resources.checkout_path("tools", launcher):
        return f"python tools/{launcher}"
    return "crnn-ctc-" + module.replace("_", "-")


def _run(title: str, tool: str, *args: str) -> float:
    """Runs the tool with ``args`` in a subprocess, streaming its output -> seconds taken."""
    cmd = [sys.executable, "-m", f"crnn_ctc.cli.{TOOLS[tool][0]}", *args]
    shown = " ".join([_shown(tool), *args])
    print(f"\n=== {title}\n$ {shown}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(cmd, check=False)
    if done.returncode != 0:
        raise SystemExit(f"step failed ({title}): exit {done.returncode}")
    return time.perf_counter() - start


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    work = FLAGS.work_dir
    # The checkout's test_data/images; an installed package reads the held-out images instead.
    held_out = os.path.join(work, "synth_test", "images", "0000")
    image_dir = FLAGS.image_dir or os.path.relpath(
        resources.checkout_path("test_data", "images") or held_out)
    _prepare(work)
    j = os.path.join
    # the text settings the demo's numbers were measured with (the generator's defaults before
    # they became the real crops' lengths and cases)
    common = ["--style", FLAGS.style, "--progress=false", "--num_workers", str(FLAGS.num_workers),
              "--case_weights", "0.45,0.2,0.25,0.1", "--length_weights", "words"]
    steps = {}
    steps["generate"] = _run(
        "1/8 render the training set (training font families)", "generate",
        "--output_dir", j(work, "synth_train"), "--count", str(FLAGS.train_count),
        "--font_split", "train", "--seed", "0", *common)
    steps["generate"] += _run(
        "2/8 render the held-out set (font families never used in training)",
        "generate", "--output_dir", j(work, "synth_test"),
        "--count", str(FLAGS.test_count), "--font_split", "test", "--seed", "1", *common)
    steps["convert"] = _run(
        "3/8 convert the training set to TFRecords", "convert",
        "--image_dir", j(work, "synth_train"), "--anno_file", j(work, "synth_train",
                                                                "image_list.txt"),
        "--data_dir", j(work, "tfrecords"), "--lowercase", "--validation_split_fraction", "0.02",
        "--progress=false", "--num_workers", str(FLAGS.num_workers))
    train_args = ["--data_dir", j(work, "tfrecords"), "--model_dir", j(work, "run"),
                  "--preset", "demo"]
    if FLAGS.max_train_steps:
        train_args += ["--max_train_steps", str(FLAGS.max_train_steps)]
    steps["train"] = _run("4/8 train (CPU preset `demo`)", "train", *train_args)
    eval_json, sheet = j(work, "heldout_eval.json"), j(work, "contact_sheet.png")
    steps["evaluate"] = _run(
        "5/8 evaluate on the held-out fonts", "eval", "--model_dir", j(work, "run"),
        "--anno_file", j(work, "synth_test", "image_list.txt"), "--output_json", eval_json,
        "--contact_sheet", sheet)
    steps["export"] = _run(
        "6/8 export a SavedModel for TF Serving", "export",
        "--model_dir", j(work, "run"), "--export_dir", j(work, "export"))
    steps["inference"] = _run(
        f"7/8 read {image_dir} through the SavedModel", "inference",
        "--model_dir", j(work, "export"), "--image_dir", image_dir,
        "--output_file", j(work, "test_data_predictions.jsonl"))
    steps["pretrained"] = _run(
        f"8/8 read {image_dir} with the shipped English model (models/crnn_en)",
        "inference", "--image_dir", image_dir,
        "--output_file", j(work, "test_data_predictions_crnn_en.jsonl"))
    _summary(work, eval_json, sheet, steps)


def _summary(work: str, eval_json: str, sheet: str, steps: dict) -> None:
    with open(eval_json, encoding="utf-8") as f:
        report = json.load(f)
    (name, result), = report["sets"].items()
    m = result["metrics"]
    with open(os.path.join(work, "synth_test", "generate.json"), encoding="utf-8") as f:
        families = json.load(f)["families"]
    timing = ", ".join(f"{k} {v:.0f} s" for k, v in steps.items())
    print(f"\n=== done in {sum(steps.values()) / 60:.1f} min ({timing})")
    print(f"held-out fonts ({', '.join(families)}): word accuracy "
          f"{100 * m['word_accuracy']:.2f}%, CER {100 * m['cer']:.2f}% on {m['count']} images "
          "(case-insensitive)")
    print(f"contact sheet:  {sheet}")
    print(f"TensorBoard:    tensorboard --logdir {os.path.join(work, 'run')}")
    print(f"SavedModel:     {os.path.join(work, 'export')} (serving: docs/serving.md)")


if __name__ == "__main__":
    run_tool(main, __doc__)
