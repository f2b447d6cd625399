"""The English recognizer shipped with the toolkit (models/crnn_en): the default model of
tools/inference_crnn_ctc.py, tools/eval_crnn_ctc.py and the main job, and a starting point for
fine-tuning (train_crnn_ctc.py --init_from models/crnn_en). models/crnn_en/README.md says what
it reads, how it was made and how it scores on the real benchmarks.

models/crnn_en/
  1/             SavedModel with the serving signature (TF Serving, inference_crnn_ctc.py)
  config.json    model config + charset (a training folder: eval, export and fine-tuning read it)
  best/          the weights (model only, no optimizer state)
"""

from __future__ import annotations

import os

from crnn_ctc import resources

NAME = "crnn_en"


def shipped_model_dir() -> str:
    """The shipped English model: the installed package data, else the checkout's models/."""
    for path in resources.model_dirs(NAME):
        if os.path.isfile(os.path.join(path, "config.json")):
            return path
    looked = ", ".join(resources.model_dirs(NAME))
    raise FileNotFoundError(
        f"the shipped model {NAME} is not installed (looked in {looked}): in a checkout run "
        "`git checkout models/crnn_en`, or pass a model folder of your own"
    )


def model_dir(given: str | None) -> str:
    """``given`` if set, else the shipped model (a clear error when it is missing)."""
    if given:
        return given
    path = shipped_model_dir()
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else path
