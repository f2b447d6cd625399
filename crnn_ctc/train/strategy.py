"""Where a training run executes: the tf.distribute strategy, which worker writes the model
folder, and the Keras dtype policy.

    strategy = make_strategy()        # MultiWorkerMirrored (TF_CONFIG) | Mirrored (GPUs) | default
    precision = set_precision(cfg)    # Precision(policy, reason): auto | bf16 | fp16 | off
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import tensorflow as tf
from absl import logging

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


# -- precision ------------------------------------------------------------------------------
# CPU flags (Linux /proc/cpuinfo names) under which oneDNN runs bfloat16 matrix work natively.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
POLICIES = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16", "off": "float32"}


@dataclasses.dataclass(frozen=True)
class Precision:
    """The dtype policy a run uses and why. Under both mixed policies the variables (hence the
    optimizer's slots), the logits and the CTC loss stay float32; only mixed float16 needs loss
    scaling (bfloat16 has float32's exponent range)."""

    policy: str  # a Keras policy name: float32 | mixed_bfloat16 | mixed_float16
    reason: str

    @property
    def loss_scaling(self) -> bool:
        return self.policy == "mixed_float16"


def cpu_flags(path: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags (Linux); empty where the file does not exist."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def choose_precision(setting: str, gpus: int, flags: frozenset[str],
                     onednn: bool = True) -> Precision:
    """``--mixed_precision`` -> the policy. ``auto``: mixed float16 on a GPU, mixed bfloat16 on
    a CPU with AMX-BF16 or AVX512-BF16 (and oneDNN on), float32 otherwise. ``bf16``, ``fp16``
    and ``off`` force one (``on`` is the old name of ``fp16``)."""
    setting = "fp16" if setting == "on" else setting
    if setting in POLICIES:
        return Precision(POLICIES[setting], f"--mixed_precision {setting}")
    if setting != "auto":
        raise ValueError(f"--mixed_precision {setting!r}: choose auto, bf16, fp16 or off")
    if gpus:
        return Precision("mixed_float16", f"auto: {gpus} GPU(s) (float16 tensor cores)")
    found = [f for f in BF16_CPU_FLAGS if f in flags]
    if found and onednn:
        return Precision("mixed_bfloat16", f"auto: the CPU has {', '.join(found)} (oneDNN "
                         "runs bfloat16 matrix work natively)")
    if found:
        return Precision("float32", f"auto: the CPU has {', '.join(found)} but oneDNN is off "
                         "(TF_ENABLE_ONEDNN_OPTS=0), so bfloat16 would be emulated")
    return Precision("float32", f"auto: no GPU and no {' or '.join(BF16_CPU_FLAGS)} among the "
                     "CPU flags (bfloat16 would be emulated, slower than float32)")


def set_precision(cfg: Config) -> Precision:
    """Chooses (choose_precision) and sets the Keras global dtype policy; logs the choice."""
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1") not in ("0", "false", "False")
    chosen = choose_precision(cfg.mixed_precision, len(tf.config.list_physical_devices("GPU")),
                              cpu_flags(), onednn)
    keras.mixed_precision.set_global_policy(chosen.policy)
    logging.info("precision: %s (%s)", chosen.policy, chosen.reason)
    return chosen
