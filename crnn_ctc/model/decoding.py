"""CTC decoding: logits -> label ids -> text, greedy or beam search, blank id explicit.

    ids, scores = greedy_decode(logits, blank_id)             # ids (B, T) padded with -1
    ids, scores = beam_search_decode(logits, blank_id, beam_width=10, top_paths=1)
    texts = ids_to_text(ids[:, 0], charset)                   # Python strings
    texts = ids_to_text_tf(ids[:, 0], tf.constant(charset.symbols))  # in-graph (serving)

Both decoders return ids (B, top_paths, N) int32 padded with -1 and scores (B, top_paths), the
log-probability of the path (greedy: of the best frame sequence; beam: of the labelling as summed
by the beam). Every function works eagerly and inside tf.function.
"""

from __future__ import annotations

import tensorflow as tf

from crnn_ctc.data.charset import Charset

PAD = -1


def _lengths(logits, logit_length):
    if logit_length is None:
        return tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
    return tf.cast(logit_length, tf.int32)


def greedy_decode(logits, blank_id: int, logit_length=None):
    """Best class per frame, repeats merged, blanks removed. logits (B, T, C) ->
    (ids (B, 1, T) int32 padded with -1, scores (B, 1) float32)."""
    logits = tf.cast(logits, tf.float32)
    steps = tf.shape(logits)[1]
    valid = tf.sequence_mask(_lengths(logits, logit_length), steps)  # (B, T)
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)  # (B, T)
    log_probs = tf.reduce_max(tf.nn.log_softmax(logits), axis=-1)
    score = tf.reduce_sum(tf.where(valid, log_probs, 0.0), axis=1)
    previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=PAD)
    keep = valid & tf.not_equal(best, blank_id) & tf.not_equal(best, previous)
    ids = tf.ragged.boolean_mask(best, keep).to_tensor(default_value=PAD, shape=tf.shape(best))
    return ids[:, None, :], score[:, None]


def beam_search_decode(
    logits, blank_id: int, beam_width: int = 10, top_paths: int = 1, logit_length=None,
    shards: int = 8,
):
    """CTC prefix beam search (tf.nn.ctc_beam_search_decoder). logits (B, T, C) ->
    (ids (B, top_paths, T) int32 padded with -1, scores (B, top_paths) float32).

    TensorFlow's kernel decodes a batch on one thread, so the batch is cut into up to
    ``shards`` parts decoded by independent ops that the executor runs in parallel: 2x faster
    at batch 64 on 2 cores (BENCHMARKS.md), the same result."""
    logits = tf.cast(logits, tf.float32)
    if blank_id != logits.shape[-1] - 1:
        # TF's beam search kernel treats the last class as the blank; so does our Charset.
        raise ValueError(f"beam search needs blank id = num_classes - 1, got {blank_id}")
    if top_paths > beam_width:
        raise ValueError(f"top_paths={top_paths} must be <= beam_width={beam_width}")
    lengths = _lengths(logits, logit_length)
    batch = tf.shape(logits)[0]
    # Pad the batch to a multiple of `shards` (at least `shards` rows) with rows one step long,
    # which cost the kernel next to nothing, and cut it into `shards` equal parts.
    size = tf.maximum((batch + shards - 1) // shards, 1)  # rows per part
    pad = size * shards - batch
    logits = tf.pad(logits, [[0, pad], [0, 0], [0, 0]])
    lengths = tf.pad(lengths, [[0, pad]], constant_values=1)
    parts = [_beam_search(logits[i * size:(i + 1) * size], lengths[i * size:(i + 1) * size],
                          beam_width, top_paths) for i in range(shards)]  # fmt: skip
    ids = tf.concat([p[0] for p in parts], 0)[:batch]
    scores = tf.concat([p[1] for p in parts], 0)[:batch]
    return ids, scores


def _beam_search(logits, lengths, beam_width: int, top_paths: int):
    steps = tf.shape(logits)[1]
    decoded, log_probs = tf.nn.ctc_beam_search_decoder(
        tf.transpose(tf.nn.log_softmax(logits), [1, 0, 2]),  # (T, B, C)
        lengths,
        beam_width=beam_width,
        top_paths=top_paths,
    )
    batch = tf.shape(logits)[0]
    paths = [
        tf.sparse.to_dense(
            tf.sparse.reset_shape(sp, tf.cast(tf.stack([batch, steps]), tf.int64)),
            default_value=PAD,
        )
        for sp in decoded
    ]
    return tf.cast(tf.stack(paths, axis=1), tf.int32), log_probs


def decode(logits, blank_id: int, beam_width: int = 0, top_paths: int = 1, logit_length=None):
    """Greedy when ``beam_width`` is 0 (or 1 with one path), else beam search."""
    if beam_width <= 1 and top_paths == 1:
        return greedy_decode(logits, blank_id, logit_length)
    return beam_search_decode(logits, blank_id, beam_width, top_paths, logit_length)


def ids_to_text(ids, charset: Charset) -> list[str]:
    """(B, N) ids padded with -1 (tensor or array) -> B Python strings."""
    rows = ids.numpy() if hasattr(ids, "numpy") else ids
    return [charset.decode(int(i) for i in row if i >= 0) for row in rows]


def ids_to_text_tf(ids, symbols):
    """In-graph: (B, N) int ids padded with -1 -> (B,) strings. ``symbols`` is a (V,) tf.string
    tensor or a lookup table from int64 id to symbol (the exported model's, read from its
    assets/charset.txt)."""
    ragged = tf.RaggedTensor.from_tensor(tf.cast(ids, tf.int64), padding=PAD)
    if hasattr(symbols, "lookup"):
        chars = tf.ragged.map_flat_values(symbols.lookup, ragged)
    else:
        chars = tf.gather(symbols, ragged)
    return tf.strings.reduce_join(chars, axis=-1)
