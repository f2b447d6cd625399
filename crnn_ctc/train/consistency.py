"""Checks that the records, the config and the model folder of a training run agree.

    cfg = resolve_config(cfg, info, explicit)     # the image size comes from the records
    check_model_dir("runs/small", cfg, info)      # a resumed run keeps its charset and shape
    check_mix(info, [other_info])                 # folders mixed in training hold alike records
"""

from __future__ import annotations

import dataclasses
import os

from absl import logging

from crnn_ctc.data.dataset_info import DatasetInfo
from crnn_ctc.model.config import model_dict
from crnn_ctc.model.folder import CONFIG_FILE, load_config
from crnn_ctc.train.config import Config


def resolve_config(
    cfg: Config, info: DatasetInfo, explicit=frozenset()
) -> Config:
    """The image size comes from the records (dataset.json); an explicit different size is an
    error, since the records hold fixed-size images."""
    if cfg.resize == "keep_aspect" and not info.rule.keeps_aspect:
        raise ValueError(f"a keep_aspect (text-line) model but the records in {info.data_dir} "
                         "are stretched: convert with create_tfrecord.py --resize keep_aspect "
                         "(or pick a word preset)")
    if info.rule.keeps_aspect:  # the model takes any width up to the rule's widest
        return dataclasses.replace(cfg, resize="keep_aspect", image_height=info.image_height,
                                   image_width=info.rule.width, min_width=info.rule.min_width)
    for name, stored in (("image_height", info.image_height), ("image_width", info.image_width)):
        if name in explicit and getattr(cfg, name) != stored:
            raise ValueError(
                f"--{name}={getattr(cfg, name)} but the records in {info.data_dir} are {stored} "
                f"({name}); convert again with create_tfrecord.py --{name} or drop the flag"
            )
    return dataclasses.replace(cfg, image_height=info.image_height, image_width=info.image_width)


def check_model_dir(model_dir: str, cfg: Config, info: DatasetInfo) -> None:
    """A model_dir that already holds a run must hold the same charset and model shape."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        return
    old_cfg, old_charset = load_config(model_dir)
    if old_charset != info.charset:
        raise ValueError(
            f"charset mismatch: {path} was trained with {len(old_charset)} symbols but "
            f"{info.charset_file} has {len(info.charset)}; train into a new --model_dir "
            "or convert the data with --charset pointing at the model's charset"
        )
    old, new = model_dict(old_cfg), model_dict(cfg)
    diff = {k: (old[k], new[k]) for k in old if old[k] != new[k]}
    if diff:
        raise ValueError(
            f"{path} holds a different model ({diff}, as (stored, requested)); "
            "use a new --model_dir or the stored settings to resume"
        )
    logging.info("resuming the run in %s", model_dir)


def data_dirs(data_dir) -> list[str]:
    """--data_dir as a list: "a" -> ["a"], "a,b" or ["a", "b"] -> ["a", "b"]."""
    dirs = [d.strip() for d in (data_dir.split(",") if isinstance(data_dir, str) else data_dir)]
    dirs = [d for d in dirs if d]
    if not dirs:
        raise ValueError("--data_dir: no folder given")
    if len(set(map(os.path.realpath, dirs))) < len(dirs):
        raise ValueError(f"--data_dir {','.join(dirs)}: a folder is given twice (its share of "
                         "a batch is --batch_ratio's business)")
    return dirs


def check_mix(first: DatasetInfo, others: list[DatasetInfo]) -> None:
    """Folders whose train records share batches with ``first``'s must hold the same charset
    (the records store label ids) and the same image size."""
    for info in others:
        if info.charset != first.charset:
            raise ValueError(
                f"{info.charset_file} ({len(info.charset)} symbols) differs from "
                f"{first.charset_file} ({len(first.charset)}): the records store label ids, so "
                "folders mixed in training need one charset; convert with --charset "
                f"{first.charset_file}")
        if (info.image_height, info.image_width) != (first.image_height, first.image_width):
            raise ValueError(
                f"{info.data_dir} holds {info.image_height}x{info.image_width} images, "
                f"{first.data_dir} {first.image_height}x{first.image_width}: convert both "
                "with the same --image_height/--image_width")
        if info.rule != first.rule:
            raise ValueError(
                f"{info.data_dir} was resized by {info.rule.to_json()}, {first.data_dir} by "
                f"{first.rule.to_json()}: convert both with the same --resize/--min_width")
