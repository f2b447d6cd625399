"""What a training run sets up before its first step: strategy, precision, optimizer and
learning-rate schedule, and the checks that the data, the config and the model folder agree."""

from __future__ import annotations

import dataclasses
import json
import math
import os

import keras
import tensorflow as tf
from absl import logging

from crnn_ctc import config as config_lib
from crnn_ctc.dataset import DatasetInfo


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


def set_precision(cfg: config_lib.Config) -> bool:
    """Sets the Keras dtype policy; returns True when mixed float16 is on."""
    on = cfg.mixed_precision == "on" or (
        cfg.mixed_precision == "auto" and bool(tf.config.list_physical_devices("GPU"))
    )
    keras.mixed_precision.set_global_policy("mixed_float16" if on else "float32")
    return on


# -- optimizer ------------------------------------------------------------------------------
class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to ``peak`` over ``warmup`` steps, then cosine to 0, constant, or
    exponential decay to peak/10 at ``total`` steps."""

    def __init__(self, peak: float, warmup: int, total: int, kind: str):
        self.peak, self.warmup, self.total, self.kind = peak, warmup, max(total, 1), kind

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warmup = float(max(self.warmup, 0))
        decay_steps = max(self.total - warmup, 1.0)
        frac = tf.clip_by_value((step - warmup) / decay_steps, 0.0, 1.0)
        if self.kind == "cosine":
            decayed = 0.5 * self.peak * (1.0 + tf.cos(math.pi * frac))
        elif self.kind == "exponential":
            decayed = self.peak * tf.pow(0.1, frac)
        else:
            decayed = tf.constant(self.peak, tf.float32)
        if warmup <= 0:
            return decayed
        return tf.where(step < warmup, self.peak * (step + 1.0) / warmup, decayed)

    def get_config(self):
        return {"peak": self.peak, "warmup": self.warmup, "total": self.total, "kind": self.kind}


def make_optimizer(cfg: config_lib.Config, total: int, mixed: bool):
    schedule = WarmupSchedule(cfg.learning_rate, cfg.warmup_steps, total, cfg.lr_schedule)
    clip = {"global_clipnorm": cfg.clip_norm} if cfg.clip_norm > 0 else {}
    if cfg.weight_decay > 0:
        opt = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay, **clip)
    else:
        opt = keras.optimizers.Adam(schedule, **clip)
    return keras.optimizers.LossScaleOptimizer(opt) if mixed else opt


# -- consistency checks ---------------------------------------------------------------------
def resolve_config(
    cfg: config_lib.Config, info: DatasetInfo, explicit=frozenset()
) -> config_lib.Config:
    """The image size comes from the records (dataset.json); an explicit different size is an
    error, since the records hold fixed-size images."""
    for name, stored in (("image_height", info.image_height), ("image_width", info.image_width)):
        if name in explicit and getattr(cfg, name) != stored:
            raise ValueError(
                f"--{name}={getattr(cfg, name)} but the records in {info.data_dir} are {stored} "
                f"({name}); convert again with create_tfrecord.py --{name} or drop the flag"
            )
    return dataclasses.replace(cfg, image_height=info.image_height, image_width=info.image_width)


def check_model_dir(model_dir: str, cfg: config_lib.Config, info: DatasetInfo) -> None:
    """A model_dir that already holds a run must hold the same charset and model shape."""
    path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(path):
        return
    old_cfg, old_charset = config_lib.load(model_dir)
    if old_charset != info.charset:
        raise ValueError(
            f"charset mismatch: {path} was trained with {len(old_charset)} symbols but "
            f"{info.charset_file} has {len(info.charset)}; train into a new --model_dir "
            "or convert the data with --charset pointing at the model's charset"
        )
    old, new = config_lib.model_dict(old_cfg), config_lib.model_dict(cfg)
    diff = {k: (old[k], new[k]) for k in old if old[k] != new[k]}
    if diff:
        raise ValueError(
            f"{path} holds a different model ({diff}, as (stored, requested)); "
            "use a new --model_dir or the stored settings to resume"
        )
    logging.info("resuming the run in %s", model_dir)
