"""Training checkpoints: the managers of ckpt/ (latest) and best/ (best validation score), and
a weights-only copy of a trained folder.

    managers = Managers(ckpt, model_dir)        # .latest (last 3) and .best (1)
    restore_best_score(best, managers.best)
    save_weights("runs/small", "models/mine")   # config.json + best/ without optimizer state
"""

from __future__ import annotations

import os

import tensorflow as tf

from crnn_ctc.data.dataset_files import write_json
from crnn_ctc.model.folder import BEST_DIR, CKPT_DIR, CONFIG_FILE, read_config
from crnn_ctc.model.trained import load_model


class Managers:
    """ckpt/ keeps the last 3 checkpoints (model, optimizer, step, best score); best/ keeps the
    one with the best validation word accuracy."""

    def __init__(self, ckpt: tf.train.Checkpoint, out_dir: str):
        self.latest = tf.train.CheckpointManager(ckpt, os.path.join(out_dir, CKPT_DIR),
                                                 max_to_keep=3)
        self.best = tf.train.CheckpointManager(ckpt, os.path.join(out_dir, BEST_DIR),
                                               max_to_keep=1, checkpoint_name="best")


def restore_best_score(best: tf.Variable, best_manager) -> None:
    """The best score is the one stored IN the best checkpoint (it was assigned before that
    checkpoint was written), so a kill between the two saves cannot lower the bar."""
    if best_manager.latest_checkpoint:
        reader = tf.train.load_checkpoint(best_manager.latest_checkpoint)
        stored = float(reader.get_tensor("best/.ATTRIBUTES/VARIABLE_VALUE"))
        best.assign(max(float(best), stored))


def save_weights(model_dir: str, out_dir: str, which: str = "best") -> str:
    """Writes the model weights of ``model_dir``'s checkpoint (no optimizer state: about a third
    of the size) with its config.json into ``out_dir``, which then reads as a training folder
    (eval_crnn_ctc.py, export, train_crnn_ctc.py --init_from) -> the checkpoint path written."""
    model, _, _, path = load_model(model_dir, which)
    step = int(path.rsplit("-", 1)[-1]) if path.rsplit("-", 1)[-1].isdigit() else 0
    write_json(os.path.join(out_dir, CONFIG_FILE), read_config(model_dir))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model),
                                         os.path.join(out_dir, BEST_DIR), max_to_keep=1,
                                         checkpoint_name="best")
    return manager.save(checkpoint_number=step)
