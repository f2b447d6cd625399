"""The training config: one frozen dataclass (the model fields of ModelConfig, then the training
fields), overrides from flags, and the config.json round trip.

    cfg = config.override(presets.get("small"), {"rnn": "gru"})   # explicit flags win
    config.save(cfg, charset, "runs/x/config.json")       # export/eval/inference read it back
    cfg, charset = config.load("runs/x")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from crnn_ctc.data.charset import Charset
from crnn_ctc.data.dataset_files import write_json
from crnn_ctc.model import folder
from crnn_ctc.model.config import ModelConfig, check, parse_filters

BACKBONES = ("vgg",)
SCHEDULES = ("cosine", "constant", "exponential")
MIXED_PRECISION = ("auto", "bf16", "fp16", "off")  # strategy.choose_precision
BATCH_MIX = ("within", "whole")  # pipeline.build_mixed_dataset(whole_batches=...)


@dataclasses.dataclass(frozen=True)
class Config(ModelConfig):
    """The model fields (ModelConfig) followed by the training fields."""

    batch_size: int = 64  # global: split evenly across replicas
    learning_rate: float = 1e-3  # peak rate for `batch_size` (Adam)
    lr_schedule: str = "cosine"  # cosine | constant | exponential (x0.1 over the run)
    warmup_steps: int = 500
    weight_decay: float = 0.0  # AdamW when > 0
    clip_norm: float = 5.0  # global gradient norm clip (0 = off)
    max_train_steps: int = 100_000  # ignored when num_epochs > 0
    num_epochs: float = 0.0
    eval_every: int = 2000
    eval_batches: int = 0  # validation batches per evaluation (0 = the whole split)
    save_every: int = 1000
    log_every: int = 100
    augment: bool = False
    shuffle_buffer: int = 10_000
    mixed_precision: str = "auto"  # fp16 on a GPU, bf16 on a bf16 CPU, else off
    jit_compile: bool = False
    seed: int = 0  # weights, dropout and augmentation (keras.utils.set_random_seed); data order
    # with several training folders (--data_dir a,b): each one's share of every batch; () = equal
    batch_ratio: tuple[float, ...] = ()
    # within: every batch holds each folder's share; whole: each batch is one folder's, the
    # folders drawn in those shares (keep_aspect words and lines each pad to their own width)
    batch_mix: str = "within"

    def __post_init__(self):
        super().__post_init__()
        check(self.lr_schedule in SCHEDULES, "lr_schedule", self.lr_schedule, str(SCHEDULES))
        check(self.batch_mix in BATCH_MIX, "batch_mix", self.batch_mix, str(BATCH_MIX))
        check(self.mixed_precision in MIXED_PRECISION, "mixed_precision",
              self.mixed_precision, str(MIXED_PRECISION))
        for name in ("batch_size", "eval_every", "save_every", "log_every"):
            check(getattr(self, name) > 0, name, getattr(self, name), "> 0")
        check(self.learning_rate > 0, "learning_rate", self.learning_rate, "> 0")
        check(self.eval_batches >= 0, "eval_batches", self.eval_batches, ">= 0 (0 = all)")


def override(cfg: Config, values: Mapping[str, object]) -> Config:
    """``cfg`` with ``values`` replacing fields (explicit flags over a preset)."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown config fields {unknown}")
    values = dict(values)
    if "filters" in values:
        values["filters"] = parse_filters(values["filters"])
    if "batch_ratio" in values:
        values["batch_ratio"] = parse_ratio(values["batch_ratio"])
    return dataclasses.replace(cfg, **values)


def parse_ratio(value) -> tuple[float, ...]:
    """"0.5,0.5", ["1", "3"] or (1.0, 3.0) -> a tuple of positive floats (() stays ())."""
    parts = [v for v in (value.split(",") if isinstance(value, str) else value) if v != ""]
    try:
        ratio = tuple(float(v) for v in parts)
    except (TypeError, ValueError) as err:
        raise ValueError(f"batch_ratio {value!r}: expected comma-separated numbers") from err
    if any(not r > 0 for r in ratio):
        raise ValueError(f"batch_ratio {value!r}: every share must be > 0")
    return ratio


# -- config.json ----------------------------------------------------------------------------
def to_dict(cfg: Config, charset: Charset) -> dict:
    return {
        "config": {**dataclasses.asdict(cfg), "filters": list(cfg.filters)},
        "charset": {"symbols": list(charset.symbols), "blank_id": charset.blank_id,
                    "num_classes": charset.num_classes},
    }


def from_dict(data: Mapping) -> tuple[Config, Charset]:
    values = dict(data["config"])
    if values.get("mixed_precision") == "on":  # config.json of earlier versions
        values["mixed_precision"] = "fp16"
    cfg = override(Config(), values)
    return cfg, Charset(data["charset"]["symbols"])


def save(cfg: Config, charset: Charset, path: str) -> None:
    write_json(path, to_dict(cfg, charset))  # atomic: a killed run never leaves half a file


def load(model_dir: str) -> tuple[Config, Charset]:
    return from_dict(folder.read_config(model_dir))
