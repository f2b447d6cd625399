"""The model + training config: one frozen dataclass, named presets, JSON round trip.

    cfg = config.preset("small")                          # a preset
    cfg = config.override(cfg, {"rnn": "gru"})            # explicit flags win over the preset
    config.save(cfg, charset, "runs/x/config.json")       # export/eval/inference read it back
    cfg, charset = config.load("runs/x")

Presets are plain functions; their docstrings give the command and what the preset reached.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping

from crnn_ctc import sequence
from crnn_ctc.charset import Charset
from crnn_ctc.convert_outputs import write_json

PAPER_FILTERS = (64, 128, 256, 256, 512, 512, 512)
BACKBONES = ("vgg",)
RNNS = ("lstm", "gru")
SCHEDULES = ("cosine", "constant", "exponential")
MIXED_PRECISION = ("auto", "on", "off")


@dataclasses.dataclass(frozen=True)
class Config:
    # -- model ------------------------------------------------------------------------------
    image_height: int = 32
    image_width: int = 100  # CTC time steps = image_width // 4
    filters: tuple[int, ...] = PAPER_FILTERS  # the 7 VGG convs; pools after 1, 2, 4, 6
    rnn: str = "lstm"  # lstm | gru
    rnn_units: int = 256  # per direction
    rnn_layers: int = 2
    stn: bool = False  # affine spatial transformer in front of the CNN
    dropout: float = 0.0  # between the CNN and the RNN, and between RNN layers
    # -- training ---------------------------------------------------------------------------
    batch_size: int = 64  # global: split evenly across replicas
    learning_rate: float = 1e-3  # peak rate for `batch_size` (Adam)
    lr_schedule: str = "cosine"  # cosine | constant | exponential (x0.1 over the run)
    warmup_steps: int = 500
    weight_decay: float = 0.0  # AdamW when > 0
    clip_norm: float = 5.0  # global gradient norm clip (0 = off)
    max_train_steps: int = 100_000  # ignored when num_epochs > 0
    num_epochs: float = 0.0
    eval_every: int = 2000
    save_every: int = 1000
    log_every: int = 100
    augment: bool = False
    shuffle_buffer: int = 10_000
    mixed_precision: str = "auto"  # auto = on with a GPU
    jit_compile: bool = False
    seed: int = 0

    def __post_init__(self):
        _check(len(self.filters) == 7, "filters", self.filters, "7 integers")
        _check(self.rnn in RNNS, "rnn", self.rnn, " or ".join(RNNS))
        _check(self.lr_schedule in SCHEDULES, "lr_schedule", self.lr_schedule, str(SCHEDULES))
        _check(
            self.mixed_precision in MIXED_PRECISION,
            "mixed_precision",
            self.mixed_precision,
            str(MIXED_PRECISION),
        )
        _check(self.image_height >= 16 and self.image_height % 16 == 0, "image_height",
               self.image_height, "a multiple of 16 (the CNN halves it 4 times)")
        _check(self.image_width >= 8, "image_width", self.image_width, ">= 8")
        for name in ("rnn_units", "rnn_layers", "batch_size", "eval_every", "save_every",
                     "log_every"):
            _check(getattr(self, name) > 0, name, getattr(self, name), "> 0")
        _check(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "in [0, 1)")
        _check(self.learning_rate > 0, "learning_rate", self.learning_rate, "> 0")

    @property
    def time_steps(self) -> int:
        return sequence.time_steps(self.image_width)


MODEL_FIELDS = ("image_height", "image_width", "filters", "rnn", "rnn_units", "rnn_layers",
                "stn", "dropout")


def _check(ok: bool, name: str, value, expected: str) -> None:
    if not ok:
        raise ValueError(f"config {name}={value!r}: expected {expected}")


# -- presets ------------------------------------------------------------------------------
def paper() -> Config:
    """The CRNN of Shi et al. (arXiv 1507.05717) for 32x100x3: 7 convs 64-128-256-256-512-512-512
    with batch norm, 2 x BiLSTM(256). ~8.7M parameters. For GPUs and large sets (Synth90k):

        python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/paper --preset paper
    """
    return Config()


def small() -> Config:
    """A CPU-sized CRNN (filters 32-64-96-96-128-128-128, 2 x BiLSTM(128), ~1.15M parameters)
    that learns clean synthetic words in minutes on 2 cores:

        python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/small --preset small

    It overfits 32 rendered words to 100% word accuracy in a few hundred steps on CPU
    (tests/test_train.py)."""
    return Config(
        filters=(32, 64, 96, 96, 128, 128, 128),
        rnn_units=128,
        batch_size=32,
        learning_rate=2e-3,
        warmup_steps=100,
        max_train_steps=5000,
        eval_every=500,
        save_every=500,
        log_every=50,
        shuffle_buffer=2000,
    )


def demo() -> Config:
    """The main job's model (tools/run_demo.py): the `small` CRNN trained for a fixed budget of
    3600 steps x 32 images on 40,000 rendered words (--style clean, 13 font families), about
    11 minutes on 2 CPU cores:

        python tools/run_demo.py
        # = python tools/train_crnn_ctc.py --data_dir demo/tfrecords --model_dir demo/run \
        #       --preset demo

    Result (2026-11-21, 2-vCPU AMD EPYC VM, two runs): 95.70% and 95.05% case-insensitive word
    accuracy (CER 0.69%, 0.76%) on 2,000 words in 4 font families never seen in training;
    training 656 s and 620 s, whole demo 12.5 and 11.7 min. BENCHMARKS.md has the runs."""
    return dataclasses.replace(small(), max_train_steps=3600, warmup_steps=200, eval_every=500,
                               save_every=500, log_every=100, shuffle_buffer=5000)


def crnn_en() -> Config:
    """The shipped English recognizer (models/crnn_en): the `small` CRNN with training-time
    augmentation, 36,000 steps x 32 images on 250,000 rendered words (--style mjsynth, 167 font
    families), sized for about two hours on 2 CPU cores. models/crnn_en/README.md has the full
    recipe (font packages, generator and converter commands) and the results:

        python tools/train_crnn_ctc.py --data_dir runs/crnn_en/tfrecords \
            --model_dir runs/crnn_en/train --preset crnn_en

    A GPU run should scale the data and steps up (and consider the `paper` model)."""
    return dataclasses.replace(small(), max_train_steps=36_000, warmup_steps=1000,
                               augment=True, eval_every=2000, save_every=1000, log_every=200,
                               shuffle_buffer=20_000)


PRESETS: dict[str, Callable[[], Config]] = {"paper": paper, "small": small, "demo": demo,
                                            "crnn_en": crnn_en}


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()


def override(cfg: Config, values: Mapping[str, object]) -> Config:
    """``cfg`` with ``values`` replacing fields (explicit flags over a preset)."""
    fields = {f.name: f for f in dataclasses.fields(Config)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"unknown config fields {unknown}")
    values = dict(values)
    if "filters" in values:
        values["filters"] = _parse_filters(values["filters"])
    return dataclasses.replace(cfg, **values)


def _parse_filters(value) -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else value
    try:
        return tuple(int(v) for v in items)
    except (TypeError, ValueError) as err:
        raise ValueError(f"filters {value!r}: expected 7 comma-separated integers") from err


def model_dict(cfg: Config) -> dict:
    return {k: getattr(cfg, k) for k in MODEL_FIELDS}


# -- config.json ----------------------------------------------------------------------------
def to_dict(cfg: Config, charset: Charset) -> dict:
    return {
        "config": {**dataclasses.asdict(cfg), "filters": list(cfg.filters)},
        "charset": {"symbols": list(charset.symbols), "blank_id": charset.blank_id,
                    "num_classes": charset.num_classes},
    }


def from_dict(data: Mapping) -> tuple[Config, Charset]:
    cfg = override(Config(), data["config"])
    return cfg, Charset(data["charset"]["symbols"])


def save(cfg: Config, charset: Charset, path: str) -> None:
    write_json(path, to_dict(cfg, charset))  # atomic: a killed run never leaves half a file


def load(model_dir: str) -> tuple[Config, Charset]:
    path = os.path.join(model_dir, "config.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{path} not found: --model_dir must be a folder written by train_crnn_ctc.py"
        )
    with open(path, encoding="utf-8") as f:
        return from_dict(json.load(f))
