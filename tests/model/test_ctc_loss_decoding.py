"""CTC loss, decoding and text mapping on hand-built logits with known answers."""

import math

import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.data.charset import Charset
from crnn_ctc.model import ctc_loss, decoding

CS = Charset("ab")  # a=0, b=1, blank=2
A, B, BLANK = 0, 1, 2


def onehot_logits(frames, classes=3, peak=10.0):
    """Logits whose argmax per frame is ``frames``."""
    out = np.zeros((len(frames), classes), np.float32)
    out[np.arange(len(frames)), frames] = peak
    return out


# Uniform logits (every class 1/3 per frame): loss = -ln(number of paths / 3^T).
@pytest.mark.parametrize(
    "label, steps, loss, feasible",
    [
        ([A], 1, math.log(3), True),  # (a)
        ([A], 2, math.log(3), True),  # (a a) (a _) (_ a): 3/9
        ([A, B], 2, math.log(9), True),  # (a b): 1/9
        ([A, A], 3, math.log(27), True),  # (a _ a): 1/27
        ([A, B], 3, math.log(27 / 5), True),  # aab abb a_b _ab ab_: 5/27
        ([], 2, math.log(9), True),  # (_ _)
        ([A, A], 2, 0.0, False),  # needs 3 steps: no path, no loss
        ([A, B, A], 2, 0.0, False),  # longer than T
    ],
)
def test_ctc_loss_uniform(label, steps, loss, feasible):
    labels = tf.constant([label + [-1] * (3 - len(label))], tf.int32)
    logits = tf.zeros((1, 3, 3))
    got, ok = ctc_loss.ctc_loss(labels, [len(label)], logits, BLANK, logit_length=[steps])
    assert got.numpy()[0] == pytest.approx(loss, abs=1e-5)
    assert bool(ok.numpy()[0]) is feasible


def test_ctc_loss_non_uniform_and_batched():
    # p(a) = 0.4, p(blank) = 0.6 each frame; "a" over 2 frames: .4*.4 + .4*.6 + .6*.4 = .64
    frame = np.log([0.4, 1e-9, 0.6]).astype(np.float32)
    logits = tf.constant([[frame, frame], [frame, frame]])
    got, ok = ctc_loss.ctc_loss(tf.constant([[A, -1], [A, A]]), [1, 2], logits, BLANK)
    np.testing.assert_allclose(got.numpy(), [-math.log(0.64), 0.0], atol=1e-5)
    assert ok.numpy().tolist() == [True, False]


def test_infeasible_label_gives_finite_gradients():
    logits = tf.Variable(tf.random.stateless_normal((2, 3, 3), seed=(1, 2)))
    with tf.GradientTape() as tape:
        loss, ok = ctc_loss.ctc_loss(tf.constant([[A, B, A, B], [A, -1, -1, -1]]), [4, 1],
                                   logits, BLANK)
        total = tf.reduce_sum(loss)
    grad = tape.gradient(total, logits).numpy()
    assert ok.numpy().tolist() == [False, True]
    assert np.isfinite(grad).all()
    assert np.abs(grad[0]).max() == 0.0 and np.abs(grad[1]).max() > 0.0


@pytest.mark.parametrize("blank", [0, 5])
def test_sparse_kernel_and_dense_implementation_agree(monkeypatch, blank):
    """The CTCLoss kernel (sparse labels, the CPU default) and the dense implementation: same
    losses and logit gradients, with repeats, empty, full-length and infeasible labels."""
    rng = np.random.default_rng(3)
    logits = tf.constant(rng.normal(0, 2, (6, 7, 6)), tf.float32)
    symbols = [c for c in range(6) if c != blank]
    labels = np.full((6, 7), -1, np.int32)
    rows = [[symbols[0], symbols[0], symbols[1]], [], symbols[:4], [symbols[2]] * 5,
            [symbols[1], symbols[3], symbols[1], symbols[3], symbols[1], symbols[3], symbols[1]],
            [symbols[4], symbols[2]]]  # row 3 needs 9 steps of 7, row 4 exactly 7
    for i, row in enumerate(rows):
        labels[i, :len(row)] = row
    length = [len(r) for r in rows]
    out = {}
    for sparse in (True, False):
        monkeypatch.setattr(ctc_loss, "SPARSE", sparse)
        with tf.GradientTape() as tape:
            tape.watch(logits)
            loss, ok = ctc_loss.ctc_loss(labels, length, logits, blank)
        out[sparse] = loss.numpy(), tape.gradient(loss, logits).numpy(), ok.numpy()
    np.testing.assert_allclose(out[True][0], out[False][0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out[True][1], out[False][1], atol=1e-5)
    assert out[True][2].tolist() == out[False][2].tolist() == [True] * 3 + [False] + [True] * 2
    assert out[True][0][3] == 0 and out[True][0][1] > 0 and np.isfinite(out[True][1]).all()


def test_sparse_labels_are_the_default_on_cpu():
    assert ctc_loss.SPARSE is None and ctc_loss.use_sparse()  # no GPU visible in the tests
    st = ctc_loss.dense_to_sparse(tf.constant([[3, 0, -1], [-1, -1, -1], [0, 0, 1]]), [2, 0, 3])
    assert st.indices.numpy().tolist() == [[0, 0], [0, 1], [2, 0], [2, 1], [2, 2]]
    assert st.values.numpy().tolist() == [3, 0, 0, 0, 1]


@pytest.mark.parametrize(
    "labels, length, steps",
    [([0, 1, 2], 3, 3), ([1, 1, 1], 3, 5), ([1, 1, 2], 3, 4), ([1, 1, 1], 2, 3),
     ([1, 1, 1], 0, 0), ([5, 5, 5], 1, 1)],
)
def test_ctc_min_steps(labels, length, steps):
    assert ctc_loss.ctc_min_steps(tf.constant([labels]), [length]).numpy()[0] == steps


@pytest.mark.parametrize(
    "frames, length, text",
    [
        ([A, A, BLANK, A, B, B], 6, "aab"),  # repeats merge, a blank separates
        ([A, A, BLANK, A, B, B], 3, "a"),  # frames past logit_length are ignored
        ([BLANK, BLANK, BLANK, BLANK, BLANK, BLANK], 6, ""),
        ([B, A, B, A, B, A], 6, "bababa"),
    ],
)
def test_greedy_decode(frames, length, text):
    ids, score = decoding.greedy_decode(onehot_logits(frames)[None], BLANK, [length])
    assert ids.shape == (1, 1, 6)
    assert decoding.ids_to_text(ids[:, 0], CS) == [text]
    # score: log-probability of the argmax frames (each ~1 - 2e-10/ ... close to 0)
    assert score.numpy()[0, 0] == pytest.approx(0.0, abs=1e-3)


def test_greedy_score_is_best_path_log_probability():
    frame = np.log([0.4, 1e-9, 0.6]).astype(np.float32)
    ids, score = decoding.greedy_decode(np.stack([frame, frame])[None], BLANK)
    assert decoding.ids_to_text(ids[:, 0], CS) == [""]
    assert score.numpy()[0, 0] == pytest.approx(math.log(0.36), abs=1e-5)


def test_beam_search_sums_paths_where_greedy_does_not():
    # Greedy picks (_ _) = .36; the labelling "a" has .64 over three paths.
    frame = np.log([0.4, 1e-9, 0.6]).astype(np.float32)
    logits = np.stack([frame, frame])[None]
    ids, scores = decoding.beam_search_decode(logits, BLANK, beam_width=4, top_paths=2)
    assert ids.shape == (1, 2, 2)
    assert decoding.ids_to_text(ids[:, 0], CS) == ["a"]
    assert decoding.ids_to_text(ids[:, 1], CS) == [""]
    np.testing.assert_allclose(scores.numpy()[0], [math.log(0.64), math.log(0.36)], atol=1e-4)


def test_decode_dispatch_and_errors():
    logits = onehot_logits([A, BLANK, B])[None]
    for beam in (0, 1, 5):
        ids, _ = decoding.decode(logits, BLANK, beam_width=beam)
        assert decoding.ids_to_text(ids[:, 0], CS) == ["ab"]
    with pytest.raises(ValueError, match="blank id = num_classes - 1"):
        decoding.beam_search_decode(logits, 0)
    with pytest.raises(ValueError, match="top_paths=3 must be <= beam_width=2"):
        decoding.beam_search_decode(logits, BLANK, beam_width=2, top_paths=3)


def test_ids_to_text_python_and_in_graph_agree():
    cs = Charset(["한", "국", "1", " "])
    ids = tf.constant([[0, 1, 3, 2, -1], [-1, -1, -1, -1, -1], [2, 2, 2, 2, 2]])
    assert decoding.ids_to_text(ids, cs) == ["한국 1", "", "11111"]
    got = decoding.ids_to_text_tf(ids, tf.constant(cs.symbols))
    assert [t.decode() for t in got.numpy()] == ["한국 1", "", "11111"]

    @tf.function
    def graph(x):
        return decoding.ids_to_text_tf(x, tf.constant(cs.symbols))

    assert [t.decode() for t in graph(ids).numpy()] == ["한국 1", "", "11111"]


def test_ids_to_text_through_a_charset_file_table(tmp_path):
    """The exported model's way: a table read from charset.txt, space and Hangul lines kept."""
    cs = Charset(["한", "국", "1", " "])
    cs.save(str(tmp_path / "charset.txt"))
    table = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
        str(tmp_path / "charset.txt"), tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER, tf.string,
        tf.lookup.TextFileIndex.WHOLE_LINE, vocab_size=4), default_value="?")  # fmt: skip
    ids = tf.constant([[0, 1, 3, 2, -1], [-1, -1, -1, -1, -1], [3, 3, 0, -1, -1]])
    got = decoding.ids_to_text_tf(ids, table)
    assert [t.decode() for t in got.numpy()] == ["한국 1", "", "  한"]


@pytest.mark.parametrize("batch", [0, 1, 3, 9, 64])
def test_sharded_beam_search_equals_one_op(batch):
    """Cutting the batch into parallel parts (padded with one-step rows) changes nothing."""
    logits = tf.random.stateless_normal((batch, 12, 3), (3, batch)) * 3.0
    lengths = tf.random.stateless_uniform((batch,), (4, batch), 2, 13, tf.int32)
    one = decoding.beam_search_decode(logits, BLANK, 3, 3, lengths, shards=1)
    many = decoding.beam_search_decode(logits, BLANK, 3, 3, lengths, shards=8)
    assert one[0].shape == many[0].shape == (batch, 3, 12)
    np.testing.assert_array_equal(one[0].numpy(), many[0].numpy())
    np.testing.assert_allclose(one[1].numpy(), many[1].numpy(), atol=1e-6)
