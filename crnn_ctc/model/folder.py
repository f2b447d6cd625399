"""A trained-model folder, as training writes it and everything after training reads it:

  config.json    model + training config and the charset
  ckpt/          the last checkpoints (model, optimizer, step): ckpt-<step>.{index,data-*}
  best/          the checkpoint with the best validation word accuracy, and best.json

    cfg, charset = folder.load_config("runs/small")     # the ModelConfig and the charset

No TensorFlow here (tools read config.json before they import it); trained.py loads weights.
"""

from __future__ import annotations

import json
import os

from crnn_ctc.data.charset import Charset
from crnn_ctc.model.config import ModelConfig, from_mapping

CONFIG_FILE = "config.json"
CKPT_DIR = "ckpt"
BEST_DIR = "best"


def is_model_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, CONFIG_FILE))


def read_config(model_dir: str) -> dict:
    """config.json as written by training: {"config": {...}, "charset": {"symbols": [...]}}."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: --model_dir must be a folder written by train_crnn_ctc.py"
        )
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_config(model_dir: str) -> tuple[ModelConfig, Charset]:
    data = read_config(model_dir)
    return from_mapping(data["config"]), Charset(data["charset"]["symbols"])
