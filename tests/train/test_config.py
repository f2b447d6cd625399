"""The training config: presets, overrides, validation, JSON round trip, steps and schedule."""

import dataclasses

import pytest

from crnn_ctc.data.charset import Charset
from crnn_ctc.train import config, presets


def test_presets_and_overrides():
    paper = presets.get("paper")
    assert paper.filters == (64, 128, 256, 256, 512, 512, 512)
    assert (paper.rnn, paper.rnn_units, paper.rnn_layers, paper.time_steps) == ("lstm", 256, 2, 25)
    small = presets.get("small")
    assert small.filters[0] < paper.filters[0] and small.rnn_units < paper.rnn_units
    cfg = config.override(small, {"rnn": "gru", "filters": "8,8,8,8,8,8,16", "image_width": 128})
    assert (cfg.rnn, cfg.filters, cfg.time_steps) == ("gru", (8, 8, 8, 8, 8, 8, 16), 32)
    assert cfg.rnn_units == small.rnn_units  # untouched fields keep the preset's value


@pytest.mark.parametrize(
    "values, message",
    [
        ({"rnn": "transformer"}, "rnn='transformer': expected lstm or gru"),
        ({"filters": "1,2,3"}, "filters=.*expected 7 integers"),
        ({"filters": "a,b"}, "expected 7 comma-separated integers"),
        ({"image_height": 40}, "image_height=40: expected a multiple of 16"),
        ({"batch_size": 0}, "batch_size=0: expected > 0"),
        ({"dropout": 1.0}, "dropout=1.0"),
        ({"mixed_precision": "yes"}, "mixed_precision='yes'"),
        ({"colour": 1}, r"unknown config fields \['colour'\]"),
    ],
)
def test_bad_config_values(values, message):
    with pytest.raises(ValueError, match=message):
        config.override(presets.paper(), values)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'huge': choose one of paper, small"):
        presets.get("huge")


def test_config_json_round_trip(tmp_path):
    cfg = config.override(presets.small(), {"stn": True, "image_height": 64, "image_width": 128})
    cs = Charset("0123456789가나다")
    config.save(cfg, cs, str(tmp_path / "config.json"))
    got_cfg, got_cs = config.load(str(tmp_path))
    assert got_cfg == cfg and got_cs == cs
    assert dataclasses.asdict(got_cfg)["filters"] == cfg.filters
    with pytest.raises(FileNotFoundError, match="written by train_crnn_ctc.py"):
        config.load(str(tmp_path / "nothing"))


@pytest.mark.parametrize(
    "epochs, records, batch, steps",
    [(0.0, 100, 32, 5000), (1.0, 100, 32, 4), (2.0, 100, 32, 7), (0.01, 100, 32, 1)],
)
def test_total_steps(epochs, records, batch, steps):
    from crnn_ctc.train import loop

    cfg = config.override(presets.small(), {"num_epochs": epochs, "batch_size": batch})
    assert loop.total_steps(cfg, records) == steps


def test_epochs_need_a_record_count():
    from crnn_ctc.train import loop

    with pytest.raises(ValueError, match="--num_epochs needs dataset.json"):
        loop.total_steps(config.override(presets.small(), {"num_epochs": 1.0}), 0)


@pytest.mark.parametrize(
    "kind, step, lr",
    [("cosine", 0, 0.1), ("cosine", 9, 1.0), ("cosine", 10, 1.0), ("cosine", 60, 0.5),
     ("cosine", 110, 0.0), ("constant", 80, 1.0), ("exponential", 110, 0.1),
     ("exponential", 60, 0.1 ** 0.5)],
)
def test_learning_rate_schedule(kind, step, lr):
    from crnn_ctc.train.optimizer import WarmupSchedule

    assert float(WarmupSchedule(1.0, 10, 110, kind)(step)) == pytest.approx(lr, abs=1e-6)


@pytest.mark.parametrize("kind, step, lr", [
    ("cosine", 50, 0.5), ("cosine", 125, 0.25), ("cosine", 200, 0.0), ("cosine", 250, 0.0),
    ("exponential", 50, 0.1 ** 0.5), ("exponential", 100, 0.1 ** 0.75),
    ("exponential", 150, 0.1), ("constant", 150, 1.0),
])
def test_a_changed_step_count_continues_the_rate(kind, step, lr):
    """Resumed at step 50 of 100, now ending at 150 (exponential, constant) or 200 (cosine):
    the rate goes on from where it was and decays over the steps left, no jump."""
    from crnn_ctc.train.optimizer import WarmupSchedule

    schedule = WarmupSchedule(1.0, 0, 100, kind)
    before = float(schedule(50))
    assert schedule.retarget(50, 200 if kind == "cosine" else 150) == pytest.approx(before)
    assert float(schedule(50)) == pytest.approx(before)
    assert float(schedule(step)) == pytest.approx(lr, abs=1e-6)
    assert schedule.retarget(50, 200 if kind == "cosine" else 150) is None  # nothing changed


def test_retarget_during_warmup_keeps_the_warmup():
    from crnn_ctc.train.optimizer import WarmupSchedule

    schedule = WarmupSchedule(1.0, 10, 100, "cosine")
    assert schedule.retarget(4, 200) is None
    assert float(schedule(4)) == pytest.approx(0.5) and float(schedule(105)) == pytest.approx(0.5)


@pytest.mark.parametrize("value,want", [("0.5,0.5", (0.5, 0.5)), (["1", "3"], (1.0, 3.0)),
                                        ((2, 1), (2.0, 1.0)), ("", ()), ([], ())])
def test_batch_ratio_parses(value, want):
    assert config.override(presets.small(), {"batch_ratio": value}).batch_ratio == want


@pytest.mark.parametrize("value", ["1,x", "1,0", "-1,2", "nan,1"])
def test_bad_batch_ratio(value):
    with pytest.raises(ValueError, match="batch_ratio"):
        config.override(presets.small(), {"batch_ratio": value})
