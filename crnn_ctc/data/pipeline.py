"""The tf.data input pipeline over the converter's TFRecords.

    info = dataset_info.read_info("tfrecords/")        # image size, charset, record counts
    ds = build_dataset("tfrecords/", "train", (32, 100), training=True, batch_size=64)
    for batch in ds:  # {"image": (B, H, W, 3) float32 in [-1, 1], "labels": (B, T) int32,
        ...           #  "label_length": (B,), "text": (B,) string, "path": (B,) string}

Training: shard files shuffled, interleaved reads, shuffle buffer, repeat, parallel parse/decode
(+ augmentation when asked), fixed-shape batches, prefetch. Evaluation: files in order, one pass,
no augmentation, the last partial batch kept. Labels are padded (and, when longer than the
model's T steps, cut) to T ids; ``label_length`` keeps the true length, so the loss can tell an
infeasible label from a feasible one.
"""

from __future__ import annotations

import glob
import os

import tensorflow as tf

from crnn_ctc.data import augment as augment_lib
from crnn_ctc.data import ctc_steps, record_parser
from crnn_ctc.data.image_tf import to_model_input
from crnn_ctc.data.record_schema import SHARD_RE

# Training reads in parallel and takes elements as they are ready (faster; the order varies from
# run to run). True keeps the order fixed for a given seed, at some speed.
DETERMINISTIC = False


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


def parse_fn(image_size: tuple[int, int], training: bool, augment: bool):
    """Serialized record -> {"image": uint8 (H, W, 3), "labels": (T,) int32, ...} with
    T = width // 4 (ctc_steps.time_steps), the model's time steps."""
    steps = ctc_steps.time_steps(image_size[1])

    def parse(serialized):
        rec = record_parser.parse_example(serialized, tuple(image_size))
        image = rec["image"]
        if training and augment:  # JPEG re-encoding is per image; the rest runs per batch
            image = augment_lib.jpeg_recompress(image)
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


def _finish_fn(augment: bool):
    def finish(batch):
        images = augment_lib.augment_batch(batch["image"]) if augment else batch["image"]
        return {**batch, "image": to_model_input(images)}

    return finish


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
) -> tf.data.Dataset:
    """Batches of ``split`` records of ``image_size`` (height, width: the records' size);
    ``batch_size`` is per input pipeline (per worker)."""
    ds = _files_dataset(shard_files(data_dir, split), training, seed, input_context)
    if training:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.map(
        parse_fn(image_size, training, augment),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=DETERMINISTIC or not training,
    )
    ds = ds.batch(batch_size, drop_remainder=training, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(_finish_fn(training and augment), num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    # The pipeline shards itself (above); tf.distribute must not shard again.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return ds.with_options(options).prefetch(tf.data.AUTOTUNE)
