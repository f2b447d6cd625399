"""The training loop: steps, checkpoints, TensorBoard summaries, best-checkpoint tracking.

    result = train(cfg, data_dir="tfrecords/", model_dir="runs/small")
    result = train(cfg, data_dir="real/,synth/", ...)  # batches mixed (cfg.batch_ratio)

Re-running the same call resumes from the latest checkpoint in ``model_dir/ckpt`` and continues
the step count. The strategy follows the machine: MultiWorkerMirroredStrategy when TF_CONFIG is
set, MirroredStrategy with several GPUs, else the default (one device). ``cfg.batch_size`` is the
GLOBAL batch, split evenly over replicas. With several data folders every batch holds a fixed
number of each one's train records (cfg.batch_ratio); the first folder's validation split (or
``val_data_dir``'s; several: the mean of their word accuracies) picks the best checkpoint, and
the first folder's train split is what
--num_epochs counts. The learning rate is used as given (scale it yourself when you change the
global batch, see README "Batch size and learning rate").

model_dir/
  config.json        model + training config and the charset (export/eval/inference read it)
  ckpt/              tf.train.CheckpointManager: ckpt-<step>.{index,data-*}, `checkpoint`
  best/              the checkpoint with the best validation word accuracy, and best.json
  train/, validation/  TensorBoard event files
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time

import keras
import tensorflow as tf
from absl import logging

from crnn_ctc.data import dataset_info, pipeline
from crnn_ctc.data.dataset_files import write_json
from crnn_ctc.data.resize_rule import ResizeRule
from crnn_ctc.evaluate import evaluation
from crnn_ctc.model import crnn, ctc_loss
from crnn_ctc.model.folder import CONFIG_FILE
from crnn_ctc.train import config as config_lib
from crnn_ctc.train import finetune
from crnn_ctc.train.checkpoints import Managers, restore_best_score
from crnn_ctc.train.consistency import check_mix, check_model_dir, data_dirs, resolve_config
from crnn_ctc.train.optimizer import make_optimizer, make_schedule
from crnn_ctc.train.strategy import is_chief, make_strategy, set_precision, worker_dir


def total_steps(cfg: config_lib.Config, train_records: int, per_step: int = 0) -> int:
    """--max_train_steps, or --num_epochs passes over ``train_records`` records read
    ``per_step`` (default: the whole batch) at a time."""
    if cfg.num_epochs > 0:
        if not train_records:
            raise ValueError("--num_epochs needs dataset.json with the train record count")
        return max(1, math.ceil(cfg.num_epochs * train_records / (per_step or cfg.batch_size)))
    return cfg.max_train_steps


def _restores_policy(fn):
    """The dtype policy is the run's: set for its model (set_precision), put back when the run
    ends, so a model built after train() in the same process (an export) is not mixed."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        previous = keras.mixed_precision.global_policy()
        try:
            return fn(*args, **kwargs)
        finally:
            keras.mixed_precision.set_global_policy(previous)

    return wrapper


@_restores_policy
def train(cfg: config_lib.Config, data_dir: str, model_dir: str, explicit=frozenset(),
          init_from: str = "", val_data_dir: str = "") -> dict:
    """Trains (or resumes) until ``total_steps``; returns the last validation metrics.
    ``data_dir``: one records folder, or several ("a,b" or a list) whose train records every
    batch mixes by cfg.batch_ratio. ``val_data_dir``: the folder whose validation split picks
    the best checkpoint (default: the first of ``data_dir``), e.g. real crops while training
    on synthetic ones; several ("a,b"): each is scored and the mean of their word accuracies
    picks it (one small source counts as much as a large one). ``init_from``: a trained
    model's folder to start from (finetune.py), fresh runs only."""
    strategy = make_strategy()
    dirs = data_dirs(data_dir)
    info = dataset_info.read_info(dirs[0])
    val_dirs = data_dirs(val_data_dir) if val_data_dir else dirs[:1]
    check_mix(info, [dataset_info.read_info(d) for d in dirs[1:]]
              + ([dataset_info.read_info(d) for d in val_dirs] if val_data_dir else []))
    for d in val_dirs if val_data_dir else ():
        pipeline.shard_files(d, "validation")  # an error now, not at the first evaluation
    cfg = resolve_config(cfg, info, explicit)
    replicas = strategy.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise ValueError(f"--batch_size {cfg.batch_size} must divide over {replicas} replicas")
    # per replica, as the input pipelines split it (an error here, before anything is built)
    shares = pipeline.mixed_batch_sizes(cfg.batch_size // replicas, cfg.batch_ratio, len(dirs))
    chief = is_chief(strategy)
    out_dir = model_dir if chief else worker_dir(model_dir, strategy)
    os.makedirs(out_dir, exist_ok=True)
    if chief:
        check_model_dir(model_dir, cfg, info)
        config_lib.save(cfg, info.charset, os.path.join(model_dir, CONFIG_FILE))
    mixed = set_precision(cfg).loss_scaling  # mixed float16 scales the loss
    steps = total_steps(cfg, info.records["train"], shares[0] * replicas)
    charset = info.charset

    keras.utils.set_random_seed(cfg.seed)  # initial weights, dropout, augmentation
    with strategy.scope():
        model = crnn.build_crnn(cfg, charset.num_classes)
        schedule = make_schedule(cfg, steps)
        optimizer = make_optimizer(cfg, schedule, mixed)
        optimizer.build(model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    best = tf.Variable(-1.0, dtype=tf.float32, trainable=False, name="best_word_accuracy")
    ckpt = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step, best=best,
                               schedule=schedule.state)
    managers = Managers(ckpt, out_dir)
    manager, best_manager = managers.latest, managers.best
    if manager.latest_checkpoint:
        ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logging.info("resumed from %s at step %d", manager.latest_checkpoint, int(step))
        _retarget_schedule(schedule, int(step), steps, cfg.learning_rate)
    elif init_from:
        summary = finetune.initialize(model, cfg, charset, init_from)
        if chief:
            write_json(os.path.join(out_dir, "init_from.json"),
                                  {"init_from": init_from, **summary})
    restore_best_score(best, best_manager)
    start = int(step)
    if start >= steps:
        logging.info("already at step %d of %d: nothing to train", start, steps)

    train_ds = train_dataset(strategy, cfg, dirs, seed=cfg.seed + start)
    train_step = make_train_step(strategy, model, optimizer, cfg, charset.blank_id, mixed)
    scorer = float32_twin(cfg, charset.num_classes) if chief else None
    writers = _writers(out_dir, chief)
    # Keras-style bar on a terminal; one log line per window when the output is a file.
    progress = keras.utils.Progbar(steps, stateful_metrics=["loss", "lr", "img/s"],
                                   verbose=1) if chief and sys.stdout.isatty() else None
    iterator = iter(train_ds)
    last_metrics: dict = {}
    window = {"loss": 0.0, "n": 0, "bad": 0, "t": time.perf_counter(), "images": 0}
    for s in range(start + 1, steps + 1):
        loss, bad = train_step(iterator)
        step.assign_add(1)
        # Summed on the device: the host waits for the steps only when a window is logged, so
        # an accelerator can run ahead of the Python loop.
        window["loss"] = window["loss"] + loss
        window["bad"] = window["bad"] + bad
        window["n"] += 1
        window["images"] += cfg.batch_size
        if s % cfg.log_every == 0 or s == steps:
            _log_window(window, s, optimizer, writers["train"], progress, check_finite=not mixed)
        if s % cfg.eval_every == 0 or s == steps:
            last_metrics = _validate_all(_scoring_model(model, scorer), cfg, val_dirs,
                                         charset, s, writers, chief)
            if chief and last_metrics and last_metrics["word_accuracy"] > float(best):
                best.assign(last_metrics["word_accuracy"])
                path = best_manager.save(checkpoint_number=s)
                write_json(os.path.join(out_dir, "best", "best.json"),
                           {"step": s, "checkpoint": os.path.basename(path), **last_metrics})
            window["t"] = time.perf_counter()  # images/s excludes evaluation
            window["images"] = 0
        if s % cfg.save_every == 0 or s == steps:
            manager.save(checkpoint_number=s)
    return {"step": int(step), "best_word_accuracy": float(best), **last_metrics}


def _retarget_schedule(schedule, start: int, steps: int, peak: float) -> None:
    rate = schedule.retarget(start, steps)
    if rate is None:
        return
    logging.info("the run now ends at step %d: the learning rate continues from %.3g at step %d "
                 "and decays over the %d steps left (no jump back up)", steps, rate, start,
                 max(steps - start, 0))
    if rate < 0.01 * peak:
        logging.warning("the schedule had already decayed to %.3g (peak %.3g): the extension "
                        "trains at about that rate. For a new schedule, fine-tune this run into "
                        "a new folder: --init_from <this --model_dir>", rate, peak)


def train_dataset(strategy, cfg: config_lib.Config, data_dir, seed: int):
    """The distributed training batches: every worker's pipeline reads its own share of the
    train records of each folder of ``data_dir`` (pipeline.build_mixed_dataset with the
    strategy's input context); each replica gets ``cfg.batch_size // replicas`` of them per
    step, split over the folders by cfg.batch_ratio."""
    dirs = data_dirs(data_dir)
    per_replica_batch = cfg.batch_size // strategy.num_replicas_in_sync
    sizes = pipeline.mixed_batch_sizes(per_replica_batch, cfg.batch_ratio, len(dirs))
    return strategy.distribute_datasets_from_function(
        lambda ctx: pipeline.build_mixed_dataset(
            dirs, sizes, (cfg.image_height, cfg.image_width), augment=cfg.augment, seed=seed,
            shuffle_buffer=cfg.shuffle_buffer, input_context=ctx, rule=resize_rule(cfg),
            whole_batches=cfg.batch_mix == "whole",
        )
    )


def make_train_step(strategy, model, optimizer, cfg, blank_id: int, mixed: bool):
    variables = model.trainable_variables

    def replica_step(batch):
        with tf.GradientTape() as tape:
            logits, steps = crnn.call_crnn(model, batch, training=True)  # (B, T, C) float32
            per_example, feasible = ctc_loss.ctc_loss(
                batch["labels"], batch["label_length"], logits, blank_id, logit_length=steps,
                sparse=False if cfg.jit_compile else None,  # the kernel has no XLA lowering
            )
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=cfg.batch_size)
            scaled = optimizer.scale_loss(loss) if mixed else loss
        grads = tape.gradient(scaled, variables)
        if cfg.clip_norm > 0:
            limit = cfg.clip_norm * (optimizer.dynamic_scale if mixed else 1.0)  # scaled units
            grads = clip_global_gradient(grads, limit)
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss, tf.reduce_sum(1 - tf.cast(feasible, tf.int32))

    if cfg.jit_compile:
        replica_step = tf.function(replica_step, jit_compile=True)

    @tf.function
    def train_step(iterator):
        batch = next(iterator)
        # Only the tensors the step uses: the string fields ("text", "path") cannot enter an
        # XLA-compiled function.
        inputs = {k: batch[k] for k in ("image", "width", "labels", "label_length")
                  if k in batch}
        loss, bad = strategy.run(replica_step, args=(inputs,))
        return (
            strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
            strategy.reduce(tf.distribute.ReduceOp.SUM, bad, axis=None),
        )

    return train_step


def clip_global_gradient(grads, clip_norm):
    """Per-replica gradients -> the same share of the GLOBAL gradient clipped to ``clip_norm``.

    The global gradient (the sum over replicas) is all-reduced first and clipped by its norm;
    each replica then hands 1/R of it to the optimizer, whose own all-reduce sums them back, so
    the update does not depend on the number of replicas. Costs one more all-reduce when R > 1.
    Under mixed float16, ``clip_norm`` is given in loss-scaled units (the optimizer unscales)."""
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync
    if replicas > 1:
        grads = ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)
    clipped, _ = tf.clip_by_global_norm(grads, clip_norm)
    return [g / replicas for g in clipped] if replicas > 1 else clipped


def _writers(out_dir: str, chief: bool) -> dict:
    if not chief:
        return {k: tf.summary.create_noop_writer() for k in ("train", "validation")}
    return {k: tf.summary.create_file_writer(os.path.join(out_dir, k))
            for k in ("train", "validation")}


def _log_window(window: dict, s: int, optimizer, writer, progress, check_finite: bool) -> None:
    loss = float(window["loss"]) / window["n"]  # the one host read of the window's losses
    window["bad"] = int(window["bad"])
    elapsed = max(time.perf_counter() - window["t"], 1e-9)
    if check_finite and not math.isfinite(loss):
        raise FloatingPointError(f"non-finite loss {loss} in the steps up to {s}")
    rate = window["images"] / elapsed
    lr = float(optimizer.learning_rate)
    with writer.as_default(step=s):
        tf.summary.scalar("loss", loss)
        tf.summary.scalar("learning_rate", lr)
        tf.summary.scalar("images_per_second", rate)
        tf.summary.scalar("infeasible_labels", window["bad"])
    if progress is not None:
        progress.update(s, [("loss", loss), ("lr", lr), ("img/s", rate)])
    else:
        logging.info("step %d: loss %.4f, lr %.3g, %.1f images/s", s, loss, lr, rate)
    if window["bad"]:
        logging.warning("step %d: %d labels longer than the %s time steps got no loss",
                        s, window["bad"], "model's")
    writer.flush()
    window.update(loss=0.0, n=0, bad=0, t=time.perf_counter(), images=0)


def resize_rule(cfg) -> ResizeRule:
    """The records' resize rule the model was configured from (resolve_config)."""
    return cfg.rule


def float32_twin(cfg: config_lib.Config, num_classes: int):
    """Under a mixed policy, the same CRNN built in float32 (None under float32): validation
    copies the current weights into it and scores it, so ``best`` is chosen, and best.json
    written, with the arithmetic the export runs (float32), not the training's bf16/fp16."""
    previous = keras.mixed_precision.global_policy()
    if previous.compute_dtype == "float32":
        return None
    keras.mixed_precision.set_global_policy("float32")
    try:
        return crnn.build_crnn(cfg, num_classes)
    finally:
        keras.mixed_precision.set_global_policy(previous)


def _scoring_model(model, twin):
    """The model validation scores: ``twin`` holding ``model``'s current weights, or the model
    itself when it trains in float32."""
    if twin is None:
        return model
    for mine, theirs in zip(twin.weights, model.weights, strict=True):
        if mine.path != theirs.path or mine.shape != theirs.shape:
            raise ValueError(f"float32 twin's {mine.path} {mine.shape} is not the model's "
                             f"{theirs.path} {theirs.shape}")
        mine.assign(theirs.value)
    return twin


def _validate_all(model, cfg, val_dirs: list[str], charset, s: int, writers: dict,
                  chief: bool) -> dict:
    """One folder: its metrics. Several: word_accuracy and cer are the means over the folders
    that have a validation split, each folder's own metrics under "sources"."""
    if len(val_dirs) == 1:
        return _validate(model, cfg, val_dirs[0], charset, s, writers, chief)
    sources = {}
    for i, d in enumerate(val_dirs):
        result = _validate(model, cfg, d, charset, s, writers, chief, tag=f"source_{i}/")
        if result:
            sources[d] = result
    if not sources:
        return {}
    mean = {k: sum(r[k] for r in sources.values()) / len(sources) for k in ("word_accuracy", "cer")}
    with writers["validation"].as_default(step=s):
        tf.summary.scalar("word_accuracy", mean["word_accuracy"])
        tf.summary.scalar("cer", mean["cer"])
    logging.info("step %d validation, mean of %d sources: word accuracy %.4f, CER %.4f",
                 s, len(sources), mean["word_accuracy"], mean["cer"])
    return {**mean, "count": sum(r["count"] for r in sources.values()), "sources": sources}


def _validate(model, cfg, data_dir: str, charset, s: int, writers: dict, chief: bool,
              tag: str = "") -> dict:
    if not chief:
        return {}
    try:
        ds = pipeline.build_dataset(data_dir, "validation", (cfg.image_height, cfg.image_width),
                                    training=False, batch_size=cfg.batch_size,
                                    rule=resize_rule(cfg))
    except FileNotFoundError:
        return {}  # a set converted with --validation_split_fraction 0
    # eval_batches bounds it, so a huge validation split does not stall the other workers.
    result = evaluation.evaluate(model, ds, charset, max_batches=cfg.eval_batches)["metrics"]
    with writers["validation"].as_default(step=s):
        tf.summary.scalar(tag + "word_accuracy", result["word_accuracy"])
        tf.summary.scalar(tag + "cer", result["cer"])
    writers["validation"].flush()
    logging.info("step %d validation%s: word accuracy %.4f, CER %.4f (%d images)",
                 s, f" of {data_dir}" if tag else "", result["word_accuracy"], result["cer"],
                 result["count"])
    return {k: result[k] for k in ("word_accuracy", "cer", "count")}

