"""Stable split and shard assignment from a hash of the image path.

A path's split and shard depend on the path alone: not on line order, worker count or task
count, so re-running a conversion (or running it on N machines) puts every image where it was.
Raising ``--validation_split_fraction`` only moves images from train to validation.
"""

from __future__ import annotations

import hashlib

TRAIN = "train"
VALIDATION = "validation"
SPLITS = (TRAIN, VALIDATION)

_TWO_64 = float(1 << 64)


def _hash128(path: str) -> bytes:
    return hashlib.blake2b(path.encode("utf-8"), digest_size=16).digest()


def assign(path: str, validation_fraction: float, num_shards: dict[str, int]) -> tuple[str, int]:
    """(split, shard index) of a normalized relative path. The two halves of one 128-bit hash
    give independent uniform draws for the split and the shard."""
    digest = _hash128(path)
    split_u = int.from_bytes(digest[:8], "little") / _TWO_64
    split = VALIDATION if split_u < validation_fraction else TRAIN
    shard = int.from_bytes(digest[8:], "little") % num_shards[split]
    return split, shard


def split_of(path: str, validation_fraction: float) -> str:
    return assign(path, validation_fraction, {TRAIN: 1, VALIDATION: 1})[0]


def task_of_shard(shard: int, num_tasks: int) -> int:
    """Shard s of every split is written by task s % num_tasks."""
    return shard % num_tasks


def task_of_line(line: int, num_tasks: int) -> int:
    """Owner of a line that has no usable path (blank, undecodable): reported by one task only."""
    return line % num_tasks
