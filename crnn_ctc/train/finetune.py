"""Start a training run from a trained model's weights (fine-tuning), e.g. the shipped
models/crnn_en on a user's own crops:

    python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/mine \
        --init_from models/crnn_en --learning_rate 5e-4 --max_train_steps 3000

The source is a training folder (config.json + checkpoints: models/crnn_en is one) or a
checkpoint path inside one. Its model shape (filters, RNN, units, layers, STN, input height)
must match the new run's, which takes the source's model fields unless flags say otherwise; the
resize rule and width may differ (a stretch 32 x 100 word model starts a keep_aspect line run).
Every layer is copied; the output layer row by row: a symbol in both charsets keeps its trained row
(so does the CTC blank), a symbol only the new charset has starts from the fresh initialisation.
The optimizer starts fresh; a run that already has a checkpoint resumes from it instead.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np
from absl import logging

from crnn_ctc.data.charset import Charset
from crnn_ctc.model import trained
from crnn_ctc.model.config import MODEL_FIELDS, model_dict
from crnn_ctc.model.folder import is_model_folder, load_config
from crnn_ctc.train.config import Config

OUTPUT_LAYER = "logits"
# input geometry the weights do not depend on: a stretch model starts a keep_aspect run
SHAPE_FREE = ("resize", "image_width", "min_width")


def source_folder(init_from: str) -> tuple[str, str]:
    """--init_from (a training folder or a checkpoint prefix in one) -> (folder, which)."""
    if is_model_folder(init_from):
        return init_from, "best"
    folder = os.path.dirname(os.path.dirname(init_from.rstrip("/")))  # <run>/ckpt/ckpt-N
    if is_model_folder(folder):
        return folder, init_from
    raise FileNotFoundError(f"--init_from {init_from}: not a training folder (config.json + "
                            "checkpoints) or a checkpoint inside one")


def model_config(cfg: Config, init_from: str, explicit=frozenset()):
    """``cfg`` with the source's model fields, except those given explicitly as flags."""
    folder, _ = source_folder(init_from)
    src, _ = load_config(folder)
    fields = {k: getattr(src, k) for k in MODEL_FIELDS if k not in explicit}
    return dataclasses.replace(cfg, **fields)


def output_rows(old: Charset, new: Charset) -> list[tuple[int, int]]:
    """(new id, old id) pairs of the output classes both charsets have, blank included."""
    pairs = [(i, old.symbols.index(s)) for i, s in enumerate(new.symbols) if s in old.symbols]
    return pairs + [(new.blank_id, old.blank_id)]


def initialize(model, cfg: Config, charset: Charset, init_from: str) -> dict:
    """Copies the source's weights into ``model`` (built for ``cfg``/``charset``) -> summary."""
    folder, which = source_folder(init_from)
    src_model, src_cfg, src_charset, path = trained.load_model(folder, which)
    old, new = model_dict(src_cfg), model_dict(cfg)
    diff = {k: (old[k], new[k]) for k in old if old[k] != new[k] and k not in SHAPE_FREE}
    if diff:
        raise ValueError(f"--init_from {init_from} holds a different model ({diff}, as "
                         "(source, this run)); drop the model flags to take the source's")
    for layer in model.layers:
        if layer.name != OUTPUT_LAYER and layer.weights:
            layer.set_weights(src_model.get_layer(layer.name).get_weights())
    kernel, bias = (np.array(w) for w in model.get_layer(OUTPUT_LAYER).get_weights())
    src_kernel, src_bias = src_model.get_layer(OUTPUT_LAYER).get_weights()
    rows = output_rows(src_charset, charset)
    for new_id, old_id in rows:
        kernel[:, new_id], bias[new_id] = src_kernel[:, old_id], src_bias[old_id]
    model.get_layer(OUTPUT_LAYER).set_weights([kernel, bias])
    fresh = [s for s in charset.symbols if s not in src_charset.symbols]
    logging.info("initialized from %s: %d of %d output classes kept%s", path, len(rows),
                 charset.num_classes, f", new symbols {''.join(fresh)!r}" if fresh else "")
    return {"checkpoint": path, "kept_classes": len(rows), "new_symbols": "".join(fresh)}
