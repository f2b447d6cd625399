"""Load a trained CRNN from a training folder (config.json + checkpoints).

    model, cfg, charset, path = restore.load_model("runs/small")             # best, else latest
    model, cfg, charset, path = restore.load_model("runs/small", "latest")
    model, cfg, charset, path = restore.load_model("runs/small", "runs/small/ckpt/ckpt-500")
"""

from __future__ import annotations

import os

import tensorflow as tf

from crnn_ctc import config as config_lib
from crnn_ctc import model as model_lib


def find_checkpoint(model_dir: str, which: str = "best") -> str:
    """``which``: "best" (falls back to latest when no validation ran), "latest", or a path."""
    if which not in ("best", "latest"):
        if not tf.io.gfile.exists(f"{which}.index"):
            raise FileNotFoundError(f"checkpoint {which} not found (no {which}.index)")
        return which
    best = tf.train.latest_checkpoint(os.path.join(model_dir, "best"))
    latest = tf.train.latest_checkpoint(os.path.join(model_dir, "ckpt"))
    path = (best or latest) if which == "best" else latest
    if not path:
        raise FileNotFoundError(f"no checkpoint in {model_dir}/ckpt or {model_dir}/best")
    return path


def load_model(model_dir: str, which: str = "best"):
    """-> (keras.Model with restored weights, Config, Charset, checkpoint path)."""
    cfg, charset = config_lib.load(model_dir)
    path = find_checkpoint(model_dir, which)
    model = model_lib.build_crnn(cfg, charset.num_classes)
    # Only the model: the optimizer slots and counters in the checkpoint are not needed.
    tf.train.Checkpoint(model=model).restore(path).expect_partial().assert_existing_objects_matched()
    return model, cfg, charset, path


def save_weights(model_dir: str, out_dir: str, which: str = "best") -> str:
    """Writes the model weights of ``model_dir``'s checkpoint (no optimizer state: about a third
    of the size) with its config.json into ``out_dir``, which then reads as a training folder
    (eval_crnn_ctc.py, export, train_crnn_ctc.py --init_from) -> the checkpoint path written."""
    model, cfg, charset, path = load_model(model_dir, which)
    step = int(path.rsplit("-", 1)[-1]) if path.rsplit("-", 1)[-1].isdigit() else 0
    config_lib.save(cfg, charset, os.path.join(out_dir, "config.json"))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model),
                                         os.path.join(out_dir, "best"), max_to_keep=1,
                                         checkpoint_name="best")
    return manager.save(checkpoint_number=step)
