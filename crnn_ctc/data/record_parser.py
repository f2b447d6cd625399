"""Parses word-image records with TensorFlow (record_schema.py has the schema).

    ds = tf.data.TFRecordDataset(files).map(lambda s: parse_example(s, (32, 100)))
"""

from __future__ import annotations

import tensorflow as tf

from crnn_ctc.data import image_tf
from crnn_ctc.data.record_schema import FORMAT, IDS, IMAGE, PATH, TEXT


def feature_spec() -> dict:
    return {
        IMAGE: tf.io.FixedLenFeature([], tf.string),
        FORMAT: tf.io.FixedLenFeature([], tf.string, default_value=""),
        PATH: tf.io.FixedLenFeature([], tf.string, default_value=""),
        TEXT: tf.io.FixedLenFeature([], tf.string),
        IDS: tf.io.VarLenFeature(tf.int64),
    }


def parse_example(serialized, image_shape: tuple[int, int | None]) -> dict:
    """One serialized record -> {"image": uint8 (H, W, 3), "label_ids": int32 (L,),
    "text": string, "path": string}. Works eagerly and inside ``tf.data.Dataset.map``.
    ``image_shape`` (H, None): keep_aspect records, each at its own width."""
    feats = tf.io.parse_single_example(serialized, feature_spec())
    # The serving graph's decoder (JPEG with the accurate DCT), so training sees its pixels.
    image = image_tf.decode_image_tf(feats[IMAGE])
    image = tf.ensure_shape(image, (*image_shape, 3))
    return {
        "image": image,
        "label_ids": tf.cast(tf.sparse.to_dense(feats[IDS]), tf.int32),
        "text": feats[TEXT],
        "path": feats[PATH],
    }
