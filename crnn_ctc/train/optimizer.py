"""The optimizer and its learning-rate schedule.

    opt = make_optimizer(cfg, total_steps, mixed=False)   # Adam (AdamW with weight decay)
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from crnn_ctc.train.config import Config


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


def make_optimizer(cfg: Config, total: int, mixed: bool):
    schedule = WarmupSchedule(cfg.learning_rate, cfg.warmup_steps, total, cfg.lr_schedule)
    # No clipnorm here: Keras clips each replica's gradient before the cross-replica sum, so
    # the clip would depend on the replica count. loop.make_train_step clips the summed one.
    if cfg.weight_decay > 0:
        opt = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay)
    else:
        opt = keras.optimizers.Adam(schedule)
    return keras.optimizers.LossScaleOptimizer(opt) if mixed else opt


