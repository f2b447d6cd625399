"""Where a training run executes: the tf.distribute strategy, which worker writes the model
folder, and the Keras dtype policy.

    strategy = make_strategy()        # MultiWorkerMirrored (TF_CONFIG) | Mirrored (GPUs) | default
    mixed = set_precision(cfg)        # True when mixed float16 is on
"""

from __future__ import annotations

import json
import os

import keras
import tensorflow as tf

from crnn_ctc.train.config import Config


# -- devices --------------------------------------------------------------------------------
def make_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG names a cluster, MirroredStrategy on several
    GPUs, else the default strategy (CPU or one GPU)."""
    tf_config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    if tf_config.get("cluster"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy) -> bool:
    """The chief writes model_dir; other workers write to a scratch folder (worker_dir)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def worker_dir(model_dir: str, strategy) -> str:
    resolver = strategy.cluster_resolver
    return os.path.join(model_dir, "workers", f"{resolver.task_type}-{resolver.task_id}")


def set_precision(cfg: Config) -> bool:
    """Sets the Keras dtype policy; returns True when mixed float16 is on."""
    on = cfg.mixed_precision == "on" or (
        cfg.mixed_precision == "auto" and bool(tf.config.list_physical_devices("GPU"))
    )
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on
