"""The command-line tools: absl flags at the top, one library call in ``main``.

Each module is a tool, run as ``python tools/<tool>.py`` in a checkout or as the console command
installed with the package (pyproject.toml [project.scripts]):

  crnn-ctc-create-tfrecord     create_tfrecord.py     image_list.txt -> TFRecords
  crnn-ctc-generate-synthetic  generate_synthetic.py  rendered word images
  crnn-ctc-train               train.py               train / resume / fine-tune
  crnn-ctc-eval                eval.py                word accuracy / CER, contact sheet
  crnn-ctc-export              export.py              SavedModel for TF Serving
  crnn-ctc-inference           inference.py           read a folder of images
  crnn-ctc-serving-client      serving_client.py      query TF Serving (REST / gRPC)
  crnn-ctc-demo                demo.py                the main job, end to end

May import every other subpackage; nothing imports it.
"""

import sys

from absl import app


def run_tool(main, doc: str) -> None:
    """``app.run(main)`` with the tool module's docstring as the ``--help`` text (absl reads
    the docstring of ``__main__``, which is a launcher here)."""
    sys.modules["__main__"].__doc__ = doc
    app.run(main)
