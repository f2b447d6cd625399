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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL_DIR = os.path.join(REPO, "models", "crnn_en")


def model_dir(given: str | None) -> str:
    """``given`` if set, else the shipped model (an error if it is missing from the checkout)."""
    if given:
        return given
    if not os.path.isfile(os.path.join(MODEL_DIR, "config.json")):
        raise FileNotFoundError(f"no --model_dir given and the shipped model {MODEL_DIR} is "
                                "missing (git checkout models/crnn_en)")
    return os.path.relpath(MODEL_DIR)
