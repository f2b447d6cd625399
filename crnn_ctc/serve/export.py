"""Export a trained CRNN as a versioned SavedModel for TF Serving.

    path = export.export(ExportConfig(model_dir="runs/small", export_dir="exported/crnn"))
    # exported/crnn/1/saved_model.pb, variables/, assets/charset.txt,
    # assets.extra/tf_serving_warmup_requests, assets.extra/crnn_ctc.json

The signatures are serve/graph.py's (serving_default: image bytes -> text, score).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

import tensorflow as tf

from crnn_ctc import extras
from crnn_ctc.model import folder, trained
from crnn_ctc.serve import payloads
from crnn_ctc.serve.graph import CrnnServing, Decoder
from crnn_ctc.serve.versions import next_version

PRECISIONS = {"fp32": "float32", "bf16": "bfloat16"}  # -> InferenceCrnn's cnn_dtype
METADATA = "crnn_ctc.json"  # in assets.extra/
WARMUP = "tf_serving_warmup_requests"  # in assets.extra/, the name TF Serving looks for


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    model_dir: str
    export_dir: str
    checkpoint: str = "best"  # best | latest | a checkpoint path
    version: int = 0  # 0: one more than the highest version present
    decoder: Decoder = Decoder()
    warmup_batch_sizes: tuple[int, ...] = (1, 8)
    # fp32 | bf16: the CNN in bfloat16 (model.inference), for CPUs with AVX512-BF16 or AMX and a
    # TF Serving build with oneDNN. Opt-in: BENCHMARKS.md has the accuracy check.
    precision: str = "fp32"

    def __post_init__(self):
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r}: choose one of {list(PRECISIONS)}")


def export(cfg: ExportConfig) -> str:
    """Writes ``export_dir/<version>/`` and returns its path. The SavedModel is written into a
    hidden staging folder and renamed into place, so TF Serving, which polls ``export_dir``,
    never loads a half-written version."""
    version = cfg.version or next_version(cfg.export_dir)
    final = os.path.join(cfg.export_dir, str(version))
    if os.path.exists(final):
        raise FileExistsError(f"{final} exists: choose another --version or remove it")
    if cfg.warmup_batch_sizes:  # before the slow part: the warmup file needs the serving protos
        extras.require("tensorflow_serving.apis.prediction_log_pb2", "serving",
                       "the TF Serving warmup file (or export with --warmup_batch_sizes '')")
    model, model_cfg, charset, checkpoint = trained.load_model(cfg.model_dir, cfg.checkpoint)
    os.makedirs(cfg.export_dir, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".{version}-", dir=cfg.export_dir)
    try:
        charset_file = os.path.join(staging, "charset.txt")
        charset.save(charset_file)
        module = CrnnServing(model, model_cfg, charset, cfg.decoder, charset_file,
                             PRECISIONS[cfg.precision])
        saved = os.path.join(staging, "model")
        tf.saved_model.save(module, saved, signatures=module.signatures())
        extra = os.path.join(saved, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        metadata = {
            "checkpoint": checkpoint, "version": version,
            "image_size": [model_cfg.image_height, model_cfg.image_width],
            "decoder": dataclasses.asdict(module.decoder), "precision": cfg.precision,
            **folder.read_config(cfg.model_dir),  # "config" and "charset", as trained
        }  # fmt: skip
        with open(os.path.join(extra, METADATA), "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=1, ensure_ascii=False)
        if cfg.warmup_batch_sizes:
            payloads.write_warmup(os.path.join(extra, WARMUP), cfg.warmup_batch_sizes)
        os.rename(saved, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def read_metadata(saved_model_dir: str) -> dict:
    """The export's assets.extra/crnn_ctc.json ({} for a SavedModel written elsewhere)."""
    path = os.path.join(saved_model_dir, "assets.extra", METADATA)
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)
