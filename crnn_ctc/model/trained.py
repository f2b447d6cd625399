"""Load a trained CRNN from a trained-model folder (folder.py has its layout).

    model, cfg, charset, path = trained.load_model("runs/small")             # best, else latest
    model, cfg, charset, path = trained.load_model("runs/small", "latest")
    model, cfg, charset, path = trained.load_model("runs/small", "runs/small/ckpt/ckpt-500")

``cfg`` is the ModelConfig (the model's shape); train.config.load reads the training fields too.
"""

from __future__ import annotations

import os

import tensorflow as tf

from crnn_ctc.model import crnn
from crnn_ctc.model.folder import BEST_DIR, CKPT_DIR, load_config


def find_checkpoint(model_dir: str, which: str = "best") -> str:
    """``which``: "best" (falls back to latest when no validation ran), "latest", or a path."""
    if which not in ("best", "latest"):
        if not tf.io.gfile.exists(f"{which}.index"):
            raise FileNotFoundError(f"checkpoint {which} not found (no {which}.index)")
        return which
    best = tf.train.latest_checkpoint(os.path.join(model_dir, BEST_DIR))
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, CKPT_DIR))
    path = (best or latest) if which == "best" else latest
    if not path:
        raise FileNotFoundError(
            f"no checkpoint in {model_dir}/{CKPT_DIR} or {model_dir}/{BEST_DIR}"
        )
    return path


def load_model(model_dir: str, which: str = "best"):
    """-> (keras.Model with restored weights, ModelConfig, Charset, checkpoint path)."""
    cfg, charset = load_config(model_dir)
    path = find_checkpoint(model_dir, which)
    model = crnn.build_crnn(cfg, charset.num_classes)
    # Only the model: the optimizer slots and counters in the checkpoint are not needed.
    tf.train.Checkpoint(model=model).restore(path).expect_partial().assert_existing_objects_matched()
    return model, cfg, charset, path
