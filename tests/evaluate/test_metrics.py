"""Word accuracy, CER and the benchmark protocol, as exact numbers."""

import pytest

from crnn_ctc.evaluate import metrics


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
