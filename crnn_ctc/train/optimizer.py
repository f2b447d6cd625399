"""The optimizer and its learning-rate schedule.

    schedule = make_schedule(cfg, total_steps)            # checkpoint schedule.state with it
    opt = make_optimizer(cfg, schedule, mixed=False)      # Adam (AdamW with weight decay)
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from crnn_ctc.train.config import Config


class ScheduleState(tf.Module):
    """The schedule's checkpointed part: the step count it decays over, and the (step, rate) it
    continues from after a resumed run changed that count (anchor_step -1: never changed)."""

    def __init__(self, total: int):
        super().__init__(name="lr_schedule")
        self.total = tf.Variable(float(max(total, 1)), trainable=False, name="total")
        self.anchor_step = tf.Variable(-1.0, trainable=False, name="anchor_step")
        self.anchor_lr = tf.Variable(0.0, trainable=False, name="anchor_lr")


class WarmupSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup to ``peak`` over ``warmup`` steps, then cosine to 0, constant, or
    exponential decay to peak/10 at ``total`` steps.

    A resumed run whose step count changed (``--max_train_steps`` raised to extend a run, or
    lowered) does not jump: ``retarget`` keeps the rate of the resume step and decays from it to
    the same end rate (cosine 0, exponential peak/10) over the steps left. A finished cosine run
    is at rate ~0, so extending it trains little; fine-tune it instead (--init_from)."""

    def __init__(self, peak: float, warmup: int, total: int, kind: str,
                 state: ScheduleState | None = None):  # fmt: skip
        self.peak, self.warmup, self.kind = peak, warmup, kind
        self.state = state or ScheduleState(total)
        self.end = {"cosine": 0.0, "exponential": 0.1 * peak}.get(kind, peak)

    def _decay(self, frac, start_lr):
        """From ``start_lr`` at frac 0 to the end rate at frac 1."""
        if self.kind == "cosine":
            return self.end + (start_lr - self.end) * 0.5 * (1.0 + tf.cos(math.pi * frac))
        if self.kind == "exponential":
            return start_lr * tf.pow(self.end / tf.maximum(start_lr, 1e-30), frac)
        return start_lr * tf.ones_like(frac)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        total, anchor = self.state.total, self.state.anchor_step
        warmup = float(max(self.warmup, 0))
        frac = tf.clip_by_value((step - warmup) / tf.maximum(total - warmup, 1.0), 0.0, 1.0)
        planned = self._decay(frac, tf.constant(self.peak, tf.float32))
        if warmup > 0:
            planned = tf.where(step < warmup, self.peak * (step + 1.0) / warmup, planned)
        rest = tf.clip_by_value((step - anchor) / tf.maximum(total - anchor, 1.0), 0.0, 1.0)
        continued = self._decay(rest, self.state.anchor_lr)
        return tf.where((anchor >= 0) & (step >= anchor), continued, planned)

    def retarget(self, step: int, total: int) -> float | None:
        """A resumed run at ``step`` now ends at ``total``: -> the rate it continues from (None
        when nothing changes: same total, or still in warmup, where the total does not matter)."""
        if float(self.state.total.numpy()) == float(max(total, 1)):
            return None
        rate = None
        if step >= max(self.warmup, 1):
            rate = float(self(step))
            self.state.anchor_step.assign(float(step))
            self.state.anchor_lr.assign(rate)
        self.state.total.assign(float(max(total, 1)))
        return rate

    def get_config(self):
        return {"peak": self.peak, "warmup": self.warmup, "kind": self.kind,
                "total": float(self.state.total.numpy())}


def make_schedule(cfg: Config, total: int) -> WarmupSchedule:
    return WarmupSchedule(cfg.learning_rate, cfg.warmup_steps, total, cfg.lr_schedule)


def make_optimizer(cfg: Config, schedule: WarmupSchedule | int, mixed: bool):
    """``schedule``: a WarmupSchedule, or the number of steps to build one for."""
    if isinstance(schedule, int):
        schedule = make_schedule(cfg, schedule)
    # No clipnorm here: Keras clips each replica's gradient before the cross-replica sum, so
    # the clip would depend on the replica count. loop.make_train_step clips the summed one.
    if cfg.weight_decay > 0:
        opt = keras.optimizers.AdamW(schedule, weight_decay=cfg.weight_decay)
    else:
        opt = keras.optimizers.Adam(schedule)
    return keras.optimizers.LossScaleOptimizer(opt) if mixed else opt


