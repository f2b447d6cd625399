import random

import pytest

from crnn_ctc.data import ctc_steps, splits


@pytest.mark.parametrize(
    "label, steps",
    [("", 0), ("a", 1), ("hello", 6), ("aaa", 5), ("abab", 4), ("1000", 6), ([3, 3, 4], 4)],
)
def test_ctc_min_steps(label, steps):
    assert ctc_steps.ctc_min_steps(label) == steps


@pytest.mark.parametrize("width, steps", [(100, 25), (128, 32), (160, 40), (3, 0)])
def test_time_steps(width, steps):
    assert ctc_steps.time_steps(width) == steps


PATHS = [f"dir{i % 7}/{i}_word_{i * 3}.jpg" for i in range(5000)]


def test_split_depends_on_path_only():
    shuffled = PATHS[:]
    random.Random(1).shuffle(shuffled)
    a = {p: splits.assign(p, 0.1, {"train": 7, "validation": 2}) for p in PATHS}
    b = {p: splits.assign(p, 0.1, {"train": 7, "validation": 2}) for p in shuffled}
    assert a == b


def test_split_fraction_and_shard_balance():
    num = {"train": 4, "validation": 1}
    assigned = [splits.assign(p, 0.2, num) for p in PATHS]
    val = sum(1 for s, _ in assigned if s == "validation")
    assert 900 <= val <= 1100  # 20% of 5000, binomial sd ~28
    per_shard = [sum(1 for s, k in assigned if s == "train" and k == i) for i in range(4)]
    assert min(per_shard) > 900 and max(per_shard) < 1100


def test_raising_the_fraction_only_moves_train_to_validation():
    low = {p for p in PATHS if splits.split_of(p, 0.1) == "validation"}
    high = {p for p in PATHS if splits.split_of(p, 0.3) == "validation"}
    assert low < high


@pytest.mark.parametrize("fraction, expected", [(0.0, {"train"}), (1.0, {"validation"})])
def test_fraction_extremes(fraction, expected):
    assert {splits.split_of(p, fraction) for p in PATHS[:500]} == expected


def test_known_assignment_is_pinned():
    # Golden values: the split of a path must never change between releases, or datasets
    # converted by two versions would put one image in both splits.
    got = [splits.split_of(f"img_{i}.jpg", 0.5) for i in range(8)]
    assert got == ["train", "train", "validation", "validation"] + [
        "validation",
        "train",
        "validation",
        "validation",
    ]
