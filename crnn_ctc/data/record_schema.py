"""The record schema, in one place: the feature keys of a word-image record and the shard names.

Each record is a serialized ``tf.train.Example`` with these features:

  image/encoded  bytes     the HxWx3 RGB image, JPEG (quality 95, 4:4:4; default) or PNG
  image/format   bytes     b"png" or b"jpeg"
  image/path     bytes     source path relative to --image_dir (UTF-8)
  label/text     bytes     the label (UTF-8, NFC)
  label/ids      int64[L]  the label as charset ids (charset.txt line numbers)
  image/width    int64     the stored width, in folders converted with --resize keep_aspect
                           (records are stored at their own width there; stretch records are
                           all the folder's width and do not carry it)

record_writer.py writes them without TensorFlow; record_parser.py reads them with it.

    shard_name("train", 0, 4) -> "train-00000-of-00004.tfrecord"
"""

from __future__ import annotations

import re

IMAGE = "image/encoded"
FORMAT = "image/format"
PATH = "image/path"
TEXT = "label/text"
IDS = "label/ids"
WIDTH = "image/width"
KEYS = (IMAGE, FORMAT, PATH, TEXT, IDS, WIDTH)

SHARD_RE = re.compile(r"^(?P<split>[a-z]+)-(?P<index>\d{5})-of-(?P<total>\d{5})\.tfrecord$")


def shard_name(split: str, index: int, total: int) -> str:
    return f"{split}-{index:05d}-of-{total:05d}.tfrecord"


def tmp_name(name: str) -> str:
    """Hidden and without the .tfrecord suffix: never matched by ``train-*.tfrecord``."""
    return f".{name}.tmp"
