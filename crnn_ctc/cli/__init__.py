"""The command-line tools: absl flags at the top, one library call in ``main``.

Each module is a tool, run as ``python tools/<tool>.py`` in a checkout or as the console command
installed with the package (pyproject.toml [project.scripts]):

  crnn-ctc-create-tfrecord     create_tfrecord.py     image_list.txt -> TFRecords
  crnn-ctc-generate-synthetic  generate_synthetic.py  rendered word images
  crnn-ctc-fetch-fonts         fetch_fonts.py         Google Fonts families for it
  crnn-ctc-fetch-backgrounds   fetch_backgrounds.py   photos and textures for it
  crnn-ctc-train               train.py               train / resume / fine-tune
  crnn-ctc-eval                eval.py                word accuracy / CER, contact sheet
  crnn-ctc-export              export.py              SavedModel for TF Serving, LiteRT, ONNX
  crnn-ctc-inference           inference.py           read a folder of images
  crnn-ctc-serving-client      serving_client.py      query TF Serving (REST / gRPC)
  crnn-ctc-demo                demo.py                the main job, end to end

May import every other subpackage; nothing imports it.
"""

import importlib
import sys

from absl import app, flags


def run_tool(main, doc: str, module: str = "__main__") -> None:
    """``app.run(main)`` with the tool's docstring and flags as the ``--help`` text: absl shows
    the docstring of ``__main__`` and the flags defined by it, and under a console command
    ``__main__`` is the launcher, not the tool ``module``."""
    sys.modules["__main__"].__doc__ = doc
    if module != "__main__":
        for flag in flags.FLAGS.flags_by_module_dict().get(module, []):
            flags.FLAGS.register_flag_by_module(sys.argv[0], flag)
    app.run(main)


def _command(module: str):
    """The console command of tool ``module``: imports it (its flags) only when it runs."""

    def run() -> None:
        tool = importlib.import_module(f"crnn_ctc.cli.{module}")
        run_tool(tool.main, tool.__doc__, tool.__name__)

    run.__name__ = f"run_{module}"
    return run


run_create_tfrecord = _command("create_tfrecord")
run_generate_synthetic = _command("generate_synthetic")
run_fetch_fonts = _command("fetch_fonts")
run_fetch_backgrounds = _command("fetch_backgrounds")
run_train = _command("train")
run_eval = _command("eval")
run_export = _command("export")
run_inference = _command("inference")
run_serving_client = _command("serving_client")
run_demo = _command("demo")
