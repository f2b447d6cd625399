"""The model's shape: the fields a trained model needs to be rebuilt (a frozen dataclass).

    cfg = ModelConfig(filters=(32, 64, 96, 96, 128, 128, 128), rnn_units=128)
    model = crnn.build_crnn(cfg, charset.num_classes)
    cfg.time_steps -> 25                      # CTC steps = image_width // 4

train.config.Config extends it with the training fields; config.json stores both, and
everything after training (evaluation, export, fine-tuning) reads only these.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from crnn_ctc.data import ctc_steps
from crnn_ctc.data.resize_rule import RULES, ResizeRule

PAPER_FILTERS = (64, 128, 256, 256, 512, 512, 512)
RNNS = ("lstm", "gru")


def check(ok: bool, name: str, value, expected: str) -> None:
    if not ok:
        raise ValueError(f"config {name}={value!r}: expected {expected}")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    image_height: int = 32
    image_width: int = 100  # CTC time steps = image_width // 4
    filters: tuple[int, ...] = PAPER_FILTERS  # the 7 VGG convs; pools after 1, 2, 4, 6
    rnn: str = "lstm"  # lstm | gru
    rnn_units: int = 256  # per direction
    rnn_layers: int = 2
    stn: bool = False  # affine spatial transformer in front of the CNN
    dropout: float = 0.0  # between the CNN and the RNN, and between RNN layers
    # the records' resize rule (data/resize_rule.py): keep_aspect models take any width up to
    # image_width, with each image's valid width as a second input (crnn.py)
    resize: str = "stretch"
    min_width: int = 0  # keep_aspect: narrower crops are stretched to it (data/resize_rule.py)

    def __post_init__(self):
        check(len(self.filters) == 7, "filters", self.filters, "7 integers")
        check(self.rnn in RNNS, "rnn", self.rnn, " or ".join(RNNS))
        check(self.image_height >= 16 and self.image_height % 16 == 0, "image_height",
              self.image_height, "a multiple of 16 (the CNN halves it 4 times)")
        check(self.image_width >= 8, "image_width", self.image_width, ">= 8")
        for name in ("rnn_units", "rnn_layers"):
            check(getattr(self, name) > 0, name, getattr(self, name), "> 0")
        check(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "in [0, 1)")
        check(self.resize in RULES, "resize", self.resize, " or ".join(RULES))
        check(self.min_width == 0 or (self.resize == "keep_aspect"
                                      and 0 < self.min_width <= self.image_width),
              "min_width", self.min_width, "0, or with resize keep_aspect at most image_width")
        check(not (self.stn and self.resize == "keep_aspect"), "stn", self.stn,
              "False with resize keep_aspect (the transformer needs a fixed canvas)")

    @property
    def time_steps(self) -> int:
        return ctc_steps.time_steps(self.image_width)

    @property
    def rule(self) -> ResizeRule:
        """The resize rule the model takes its inputs by (keep_aspect: up to image_width)."""
        return ResizeRule(self.resize, self.image_height, self.image_width, self.min_width)


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelConfig))


def model_dict(cfg: ModelConfig) -> dict:
    """The model fields of ``cfg`` (a ModelConfig or a training Config)."""
    return {k: getattr(cfg, k) for k in MODEL_FIELDS}


def parse_filters(value) -> tuple[int, ...]:
    items = value.split(",") if isinstance(value, str) else value
    try:
        return tuple(int(v) for v in items)
    except (TypeError, ValueError) as err:
        raise ValueError(f"filters {value!r}: expected 7 comma-separated integers") from err


def from_mapping(values: Mapping) -> ModelConfig:
    """The model fields of a config.json "config" dict (training fields are ignored)."""
    fields = {k: values[k] for k in MODEL_FIELDS if k in values}
    if "filters" in fields:
        fields["filters"] = parse_filters(fields["filters"])
    return ModelConfig(**fields)
