"""The tf.data input pipeline over the converter's TFRecords.

    info = dataset_info.read_info("tfrecords/")        # image size, charset, record counts
    ds = build_dataset("tfrecords/", "train", (32, 100), training=True, batch_size=64)
    for batch in ds:  # {"image": (B, H, W, 3) float32 in [-1, 1], "labels": (B, T) int32,
        ...           #  "label_length": (B,), "text": (B,) string, "path": (B,) string}

Training: shard files shuffled, interleaved reads, shuffle buffer, repeat, parallel parse/decode
(+ augmentation when asked, per batch, its draws stateless on seeds from --seed and the
batch's position, so parallel calls cannot change them), fixed-shape batches, prefetch.
Evaluation: files in order, one pass, no augmentation, the last partial batch kept. Labels are
padded (and, when longer than the model's T steps, cut) to T ids; ``label_length`` keeps the
true length, so the loss can tell an infeasible label from a feasible one.

keep_aspect records (``rule``, data/resize_rule.py) are each at their own width: an image is
padded on the right to a multiple of the CNN's stride (4), training batches are drawn from
width buckets (BUCKET_WIDTH px wide, so a batch of short words does not pay for the widest
crop) and padded to their widest image; evaluation batches keep the file order and are padded
to their widest. Each example carries "width" (its own width in pixels, before any padding),
from which the model masks the padding and the loss takes its steps (ceil(width / 4)); labels
are padded to the widest width's steps. Augmentation runs per image, before padding.
"""

from __future__ import annotations

import glob
import os

import tensorflow as tf

from crnn_ctc.data import augment as augment_lib
from crnn_ctc.data import ctc_steps, record_parser
from crnn_ctc.data.image_tf import to_model_input
from crnn_ctc.data.record_schema import SHARD_RE
from crnn_ctc.data.resize_rule import ResizeRule

# Training reads in parallel and takes elements as they are ready (faster; the order varies from
# run to run). True keeps the order fixed for a given seed, at some speed.
DETERMINISTIC = False
BUCKET_WIDTH = 64  # keep_aspect training batches: images of widths within one such band


def shard_files(data_dir: str, split: str) -> list[str]:
    files = sorted(glob.glob(os.path.join(data_dir, f"{split}-*-of-*.tfrecord")))
    files = [f for f in files if SHARD_RE.match(os.path.basename(f))]
    if not files:
        raise FileNotFoundError(
            f"no {split}-NNNNN-of-NNNNN.tfrecord files in {data_dir}: "
            "write them with tools/create_tfrecord.py --data_dir"
        )
    return files


def _files_dataset(files, training: bool, seed: int, input_context):
    """Serialized records of this input pipeline's share of ``files``.

    With at least as many files as pipelines (workers), each takes its own files. With fewer,
    every pipeline reads all files one after the other in the same order and keeps every n-th
    record: the shard comes before anything shuffled or interleaved in parallel, so the shares
    partition the records exactly (the record shuffle buffer after it mixes each share)."""
    ds = tf.data.Dataset.from_tensor_slices(files)
    pipelines = input_context.num_input_pipelines if input_context else 1
    if pipelines > 1:
        if len(files) < pipelines:
            records = tf.data.TFRecordDataset(ds)  # sequential: the same order on every worker
            return records.shard(pipelines, input_context.input_pipeline_id)
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    if training:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    # Evaluation reads files one after the other, in order; training interleaves them.
    parallel = ({"num_parallel_calls": tf.data.AUTOTUNE, "deterministic": DETERMINISTIC}
                if training else {})  # fmt: skip
    cycle = min(len(files), 8) if training else 1
    return ds.interleave(tf.data.TFRecordDataset, cycle_length=cycle, **parallel)


def parse_fn(image_size: tuple[int, int]):
    """Serialized record -> {"image": uint8 (H, W, 3), "labels": (T,) int32, ...} with
    T = width // 4 (ctc_steps.time_steps), the model's time steps."""
    steps = ctc_steps.time_steps(image_size[1])

    def parse(serialized):
        rec = record_parser.parse_example(serialized, tuple(image_size))
        image = rec["image"]
        ids = rec["label_ids"]
        length = tf.shape(ids)[0]
        labels = tf.pad(ids[:steps], [[0, steps - tf.minimum(length, steps)]], constant_values=-1)
        return {
            "image": image,
            "labels": tf.ensure_shape(labels, [steps]),
            "label_length": length,
            "text": rec["text"],
            "path": rec["path"],
        }

    return parse


def _parse_lines_fn(rule: ResizeRule):
    """keep_aspect: serialized record -> the parse_fn dict with the image at its own width,
    padded right to a multiple of the stride, and "width" (int32, before that padding)."""
    steps = ctc_steps.time_steps(rule.width)
    stride = ctc_steps.WIDTH_STRIDE

    def parse(serialized):
        rec = record_parser.parse_example(serialized, (rule.height, None))
        image, ids = rec["image"], rec["label_ids"]
        width = tf.shape(image)[1]
        image = tf.pad(image, [[0, 0], [0, (-width) % stride], [0, 0]])
        length = tf.shape(ids)[0]
        labels = tf.pad(ids[:steps], [[0, steps - tf.minimum(length, steps)]], constant_values=-1)
        return {"image": image, "width": width, "labels": tf.ensure_shape(labels, [steps]),
                "label_length": length, "text": rec["text"], "path": rec["path"]}

    return parse


def _augment_one_fn(seed: int, input_context):
    """keep_aspect: augments one image (before padding, so no warp pulls padding into it)."""
    def one(k, example):
        image = augment_lib.augment_batch(example["image"][None],
                                          _augment_seed(seed, input_context, k))[0]
        return {**example, "image": image}

    return one


def _line_batches(ds, rule: ResizeRule, training: bool, batch_size: int):
    shapes = {"image": [rule.height, None, 3], "width": [], "labels": [None],
              "label_length": [], "text": [], "path": []}
    if not training:
        return ds.padded_batch(batch_size, padded_shapes=shapes)
    bounds = list(range(BUCKET_WIDTH, rule.width + 1, BUCKET_WIDTH))
    return ds.bucket_by_sequence_length(
        lambda e: e["width"], bounds, [batch_size] * (len(bounds) + 1), padded_shapes=shapes,
        drop_remainder=True)


def _finish_fn(augment: bool):
    def finish(batch, seed=None):
        images = augment_lib.augment_batch(batch["image"], seed) if augment else batch["image"]
        return {**batch, "image": to_model_input(images)}

    return finish


def _augment_seed(seed: int, input_context, index):
    """The stateless seed of this input pipeline's ``index``-th batch: the same draws for the
    same --seed, however tf.data schedules the calls."""
    pid = input_context.input_pipeline_id if input_context else 0
    return tf.random.experimental.stateless_fold_in(tf.constant([seed, pid], tf.int64), index)


def _batches(data_dir: str, split: str, image_size: tuple[int, int], training: bool,
             batch_size: int, seed: int, shuffle_buffer: int, input_context,
             rule: ResizeRule | None = None, augment: bool = False) -> tf.data.Dataset:
    """Parsed batches of one folder's ``split``, before the per-batch finish (augmentation);
    keep_aspect ``rule``: augmented per image here when ``augment``."""
    ds = _files_dataset(shard_files(data_dir, split), training, seed, input_context)
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    lines = rule is not None and rule.keeps_aspect
    ds = ds.map(
        _parse_lines_fn(rule) if lines else parse_fn(image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=DETERMINISTIC or not training,
    )
    if lines:
        if augment:
            ds = ds.enumerate().map(_augment_one_fn(seed, input_context),
                                    num_parallel_calls=tf.data.AUTOTUNE)
        return _line_batches(ds, rule, training, batch_size)
    return ds.batch(batch_size, drop_remainder=training, num_parallel_calls=tf.data.AUTOTUNE)


def _finished(ds: tf.data.Dataset, augment: bool, seed: int = 0,
              input_context=None) -> tf.data.Dataset:
    finish = _finish_fn(augment)
    if augment:
        ds = ds.enumerate().map(
            lambda k, b: finish(b, _augment_seed(seed, input_context, k)),
            num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(finish, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    # The pipeline shards itself (above); tf.distribute must not shard again.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)


def build_dataset(
    data_dir: str,
    split: str,
    image_size: tuple[int, int],
    training: bool,
    batch_size: int,
    augment: bool = False,
    seed: int = 0,
    shuffle_buffer: int = 10_000,
    input_context: tf.distribute.InputContext | None = None,
    rule: ResizeRule | None = None,
) -> tf.data.Dataset:
    """Batches of ``split`` records of ``image_size`` (height, width: the records' size);
    ``batch_size`` is per input pipeline (per worker). ``rule``: the records' resize rule
    (keep_aspect: see the module docstring; None or stretch: fixed-size records)."""
    lines = rule is not None and rule.keeps_aspect
    augment = training and augment
    return _finished(_batches(data_dir, split, image_size, training, batch_size, seed,
                              shuffle_buffer, input_context, rule, augment and lines),
                     augment and not lines, seed, input_context)


def mixed_batch_sizes(batch_size: int, ratio: tuple[float, ...], folders: int) -> list[int]:
    """How many of each batch's ``batch_size`` images come from each of ``folders`` record
    folders: in proportion to ``ratio`` (() = equal shares), rounded by largest remainder so
    they add up; a folder left with none is an error."""
    ratio = tuple(ratio) or (1.0,) * folders
    if len(ratio) != folders:
        raise ValueError(f"--batch_ratio has {len(ratio)} values for {folders} --data_dir "
                         "folders: give one share per folder")
    if any(r <= 0 for r in ratio):
        raise ValueError(f"--batch_ratio {','.join(map(str, ratio))}: shares must be > 0")
    exact = [batch_size * r / sum(ratio) for r in ratio]
    sizes = [int(x) for x in exact]
    by_remainder = sorted(range(folders), key=lambda i: exact[i] - sizes[i], reverse=True)
    for i in by_remainder[:batch_size - sum(sizes)]:
        sizes[i] += 1
    if min(sizes) < 1:
        raise ValueError(f"a batch of {batch_size} split {','.join(map(str, ratio))} leaves a "
                         f"folder no image ({sizes}): raise --batch_size or that share")
    return sizes


def build_mixed_dataset(
    data_dirs: list[str],
    batch_sizes: list[int],
    image_size: tuple[int, int],
    augment: bool = False,
    seed: int = 0,
    shuffle_buffer: int = 10_000,
    input_context: tf.distribute.InputContext | None = None,
    rule: ResizeRule | None = None,
    whole_batches: bool = False,
) -> tf.data.Dataset:
    """Training batches of ``sum(batch_sizes)`` records, ``batch_sizes[i]`` of them from the
    train split of ``data_dirs[i]`` in every batch (real crops and synthetic words in a fixed
    proportion, as --batch_ratio of deep-text-recognition-benchmark). Each folder is read as
    build_dataset reads one (its own shuffle, seed ``seed + i``, its share of the workers'
    records); augmentation runs on the joined batch. ``whole_batches``: each batch comes from
    one folder instead, folder i drawn with probability ``batch_sizes[i] / sum`` (seeded), so
    keep_aspect words never pad to the width of the lines they would share a batch with."""
    lines = rule is not None and rule.keeps_aspect
    total = sum(batch_sizes)
    parts = tuple(_batches(d, "train", image_size, True, total if whole_batches else b,
                           seed + i, shuffle_buffer, input_context, rule, augment and lines)
                  for i, (d, b) in enumerate(zip(data_dirs, batch_sizes, strict=True)))
    if len(parts) == 1:
        return _finished(parts[0], augment and not lines, seed, input_context)
    if whole_batches:
        picked = tf.data.Dataset.sample_from_datasets(
            parts, weights=[b / total for b in batch_sizes], seed=seed)
        return _finished(picked, augment and not lines, seed, input_context)

    def join(*batches):
        if lines:  # each part is padded to its own widest: pad all to the widest of them
            widest = tf.reduce_max([tf.shape(b["image"])[2] for b in batches])
            batches = [{**b, "image": tf.pad(b["image"], [[0, 0], [0, 0],
                                                          [0, widest - tf.shape(b["image"])[2]],
                                                          [0, 0]])} for b in batches]
        return {k: tf.concat([b[k] for b in batches], axis=0) for k in batches[0]}

    joined = tf.data.Dataset.zip(parts).map(join, num_parallel_calls=tf.data.AUTOTUNE)
    return _finished(joined, augment and not lines, seed, input_context)
