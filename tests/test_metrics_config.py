"""Metrics (exact numbers) and the config: presets, overrides, validation, JSON round trip."""

import dataclasses

import pytest

from crnn_ctc import config, metrics
from crnn_ctc.charset import Charset


@pytest.mark.parametrize(
    "text, case_sensitive, alnum_only, want",
    [
        ("Hello, World!", False, True, "helloworld"),
        ("Hello, World!", True, True, "HelloWorld"),
        ("Hello, World!", False, False, "hello, world!"),
        ("AT HIGH", False, True, "athigh"),
        ("à", False, True, ""),  # non-ASCII letters drop out, as the benchmarks' protocol does
        ("서울12가", True, False, "서울12가"),
    ],
)
def test_normalize(text, case_sensitive, alnum_only, want):
    assert metrics.normalize(text, case_sensitive, alnum_only) == want


@pytest.mark.parametrize(
    "pred, ref, dist",
    [("abc", "abc", 0), ("abd", "abc", 1), ("", "abc", 3), ("abcd", "abc", 1), ("ba", "ab", 2),
     ("한국", "한극", 1), ("", "", 0)],
)
def test_edit_distances(pred, ref, dist):
    assert metrics.edit_distances([pred], [ref]) == [dist]


def test_recognition_metrics_accumulate_exactly():
    m = metrics.RecognitionMetrics()  # exact comparison
    assert m.update(["cat", "dog"], ["cat", "dot"]) == [True, False]
    assert m.update(["Sun"], ["sun"]) == [False]
    r = m.result()
    assert (r["count"], r["correct"], r["edit_distance"], r["reference_chars"]) == (3, 1, 2, 9)
    assert r["word_accuracy"] == pytest.approx(1 / 3)
    assert r["cer"] == pytest.approx(2 / 9)

    std = metrics.RecognitionMetrics(case_sensitive=False, alnum_only=True)
    assert std.update(["SUN", "hello!", "cat"], ["sun", "Hello", "Cat's"]) == [True, True, False]
    assert std.result()["word_accuracy"] == pytest.approx(2 / 3)
    assert std.result()["cer"] == pytest.approx(1 / 12)  # "cat" vs "cats": 1 of 3+5+4


def test_metrics_empty_and_mismatched():
    assert metrics.RecognitionMetrics().result()["word_accuracy"] == 0.0
    with pytest.raises(ValueError, match="2 predictions for 1 targets"):
        metrics.edit_distances(["a", "b"], ["a"])


def test_presets_and_overrides():
    paper = config.preset("paper")
    assert paper.filters == (64, 128, 256, 256, 512, 512, 512)
    assert (paper.rnn, paper.rnn_units, paper.rnn_layers, paper.time_steps) == ("lstm", 256, 2, 25)
    small = config.preset("small")
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
        config.override(config.paper(), values)


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown preset 'huge': choose one of paper, small"):
        config.preset("huge")


def test_config_json_round_trip(tmp_path):
    cfg = config.override(config.small(), {"stn": True, "image_height": 64, "image_width": 128})
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
    from crnn_ctc import train_lib

    cfg = config.override(config.small(), {"num_epochs": epochs, "batch_size": batch})
    assert train_lib.total_steps(cfg, records) == steps


def test_epochs_need_a_record_count():
    from crnn_ctc import train_lib

    with pytest.raises(ValueError, match="--num_epochs needs dataset.json"):
        train_lib.total_steps(config.override(config.small(), {"num_epochs": 1.0}), 0)


@pytest.mark.parametrize(
    "kind, step, lr",
    [("cosine", 0, 0.1), ("cosine", 9, 1.0), ("cosine", 10, 1.0), ("cosine", 60, 0.5),
     ("cosine", 110, 0.0), ("constant", 80, 1.0), ("exponential", 110, 0.1),
     ("exponential", 60, 0.1 ** 0.5)],
)
def test_learning_rate_schedule(kind, step, lr):
    from crnn_ctc.train_setup import WarmupSchedule

    assert float(WarmupSchedule(1.0, 10, 110, kind)(step)) == pytest.approx(lr, abs=1e-6)
