"""The English recognizer shipped with the toolkit (models/crnn_en): the default model of
tools/inference_crnn_ctc.py, tools/eval_crnn_ctc.py and the main job, and a starting point for
fine-tuning (train_crnn_ctc.py --init_from models/crnn_en). models/crnn_en/README.md says what
it reads, how it was made and how it scores on the real benchmarks.

models/crnn_en/
  3/             version 3's SavedModel with the serving signature (TF Serving and
                 inference_crnn_ctc.py take the highest version)
  config.json    version 3's model config + charset (a training folder: eval, export and
  best/          fine-tuning read it) and weights (model only, no optimizer state)
  2/, v2/        version 2's SavedModel, and its config + weights (1/, v1/: version 1's)
"""

from __future__ import annotations

import os

from crnn_ctc import resources

NAME = "crnn_en"


def shipped_model_dir(version: int | None = None) -> str:
    """The shipped English model: the installed package data, else the checkout's models/.
    ``version``: that version's SavedModel folder instead (e.g. 2, to pin the lower-case
    alphanumeric version 2 after version 3 became the default)."""
    for path in resources.model_dirs(NAME):
        if os.path.isfile(os.path.join(path, "config.json")):
            if version is None:
                return path
            pinned = os.path.join(path, str(int(version)))
            if not os.path.isfile(os.path.join(pinned, "saved_model.pb")):
                shipped = sorted(int(d) for d in os.listdir(path) if d.isdigit())
                raise FileNotFoundError(f"{NAME} has no version {version} (shipped: {shipped})")
            return pinned
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
