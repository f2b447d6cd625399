"""Export a trained CRNN to LiteRT (TFLite) and ONNX files, each with its contract beside it.

    paths = export_portable(PortableConfig("runs/small", "exported/edge", "tflite",
                                           ("fp32", "int8"), calibration_data="tfrecords/"))
    # exported/edge/crnn_fp32.tflite (+ .tflite.json), exported/edge/crnn_int8.tflite (+ .json)

The graph is portable/graph.py's (pixels -> per-step logits, no decoder). Variants:
  tflite fp32     the float model
  tflite fp16     float16 weights (half the file), computed in float32 (or fp16 where the
                  delegate can)
  tflite dynamic  int8 weights, float activations (dynamic-range quantization)
  tflite int8     full integer: int8 weights and activations, uint8 input (the pixels, scale 1)
                  and output (the logits, over their calibrated range), calibrated
                  on ``calibration_images`` images of the user's data (TFRecords
                  written by create_tfrecord.py, or a folder of images)
  onnx fp32       by tf2onnx (the converter TensorFlow's ONNX path is maintained in), opset
                  OPSET: every op here is in it, and onnxruntime has run it since 1.12
"""

from __future__ import annotations

import dataclasses
import glob
import os
import tempfile

import numpy as np
import tensorflow as tf
from absl import logging

from crnn_ctc import extras
from crnn_ctc.data import image_files, image_np, image_tf, record_schema
from crnn_ctc.data.resize_rule import ResizeRule
from crnn_ctc.model import folder, trained
from crnn_ctc.portable import runtime
from crnn_ctc.portable.contract import Contract, contract_path, save_contract
from crnn_ctc.portable.graph import PIXELS, WIDTHS, PortableCrnn

VARIANTS = {"tflite": ("fp32", "fp16", "dynamic", "int8"), "onnx": ("fp32",)}
OPSET = 17
INPUT_NAME, OUTPUT_NAME = PIXELS, "logits"


@dataclasses.dataclass(frozen=True)
class PortableConfig:
    model_dir: str
    export_dir: str
    format: str = "tflite"  # tflite | onnx
    variants: tuple[str, ...] = ("fp32",)
    checkpoint: str = "best"
    calibration_data: str = ""  # int8: a TFRecords folder (its train split) or an image folder
    calibration_list: str = ""  # ... or a list of images in that folder
    calibration_images: int = 1024  # BENCHMARKS.md: 1024 against 256
    seed: int = 0
    name: str = "crnn"  # file names: <name>_<variant>.<format>

    def __post_init__(self):
        if self.format not in VARIANTS:
            raise ValueError(f"format {self.format!r}: choose one of {', '.join(VARIANTS)}")
        bad = [v for v in self.variants if v not in VARIANTS[self.format]]
        if bad or not self.variants:
            raise ValueError(f"{self.format} variants {', '.join(bad) or '(none)'}: choose from "
                             f"{', '.join(VARIANTS[self.format])}")
        if "int8" in self.variants and not self.calibration_data:
            raise ValueError("int8 needs --calibration_data: a TFRecords folder or an image "
                             "folder of your training data (never a test set)")
        if self.calibration_images < 1:
            raise ValueError(f"calibration_images {self.calibration_images}: must be >= 1")


def model_path(cfg: PortableConfig, variant: str) -> str:
    return os.path.join(cfg.export_dir, f"{cfg.name}_{variant}.{cfg.format}")


def calibration_images(source: str, image_list: str, count: int, rule: ResizeRule,
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
    """``count`` (or all, if fewer) images from a TFRecords folder's train split or from an
    image folder, picked at random (``seed``) and resized by the model's ``rule`` -> (N, H, W, 3)
    uint8 and, for a keep_aspect rule, each crop's width (N,) int32 (the crops padded right to
    W); None for stretch."""
    if not os.path.isdir(source):
        raise FileNotFoundError(f"--calibration_data {source} is not a folder")
    shards = sorted(glob.glob(os.path.join(source, "train-*-of-*.tfrecord")))
    rng = np.random.default_rng(seed)
    if shards:
        ds = tf.data.TFRecordDataset(shards).shuffle(50_000, seed=seed).take(count)
        spec = {record_schema.IMAGE: tf.io.FixedLenFeature([], tf.string)}
        images = [image_tf.resize_by_rule_tf(image_tf.decode_image_tf(
            tf.io.parse_single_example(s, spec)[record_schema.IMAGE]), rule).numpy() for s in ds]
    else:
        names, problems = image_files.list_images(source, image_list or None)
        names = [names[i] for i in rng.permutation(len(names))]
        images = []
        for name in names:
            if len(images) == count:
                break
            try:
                with open(os.path.join(source, name), "rb") as f:
                    images.append(image_np.resize_by_rule(image_np.load_rgb(f.read()), rule))
            except (OSError, image_np.ImageError) as err:
                logging.warning("calibration: skipped %s: %s", name, err)
        for problem in problems:
            logging.warning("calibration: skipped %s", problem)
    if not images:
        raise ValueError(f"no calibration images in {source}: it holds no train-*.tfrecord "
                         "shards and no image files directly in it (images in subfolders, as "
                         "generate_synthetic.py writes them: give --calibration_list "
                         "<folder>/image_list.txt)")
    if rule.keeps_aspect:
        return image_np.pad_right(images, rule.width)
    return np.stack(images), None


def _tflite(net: PortableCrnn, variant: str, calibration) -> bytes:
    fn = tf.function(net, input_signature=net.input_specs(1))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], net)
    if variant != "fp32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if variant == "fp16":
        converter.target_spec.supported_types = [tf.float16]
    if variant == "int8":
        pixels, widths = calibration
        # The input's range comes from the calibration pixels: a first image ramping from 0 to
        # 255 makes it the full pixel range (scale 1, zero point 0), so an image brighter or
        # darker than the calibration set's is not clipped.
        h, w = pixels.shape[1:3]
        ramp = np.broadcast_to(np.round(np.linspace(0, 255, w, dtype=np.float32))[None, :, None],
                               (h, w, 3))

        def representative():  # by input name: the file may order its inputs either way
            for k, image in enumerate([ramp, *pixels]):
                inputs = {PIXELS: image[None].astype(np.float32)}
                if widths is not None:  # the ramp: the whole canvas
                    inputs[WIDTHS] = np.array([w if k == 0 else widths[k - 1]], np.int32)
                yield inputs

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    return converter.convert()


def _onnx(net: PortableCrnn) -> bytes:
    tf2onnx = extras.require("tf2onnx", "export-onnx", "the ONNX export", "requirements-dev.txt")
    specs = net.input_specs()
    fn = tf.function(net, input_signature=specs)
    proto, _ = tf2onnx.convert.from_function(fn, input_signature=specs, opset=OPSET)
    graph = proto.graph
    old = graph.output[0].name
    for node in graph.node:  # "Identity:0" -> "logits"
        node.output[:] = [OUTPUT_NAME if o == old else o for o in node.output]
    graph.output[0].name = OUTPUT_NAME
    return proto.SerializeToString()


def _io(data: bytes, fmt: str, keeps_aspect: bool) -> dict:
    """The model file's input/output names, dtypes and quantization, read back from it."""
    if fmt == "onnx":
        return {"input_name": INPUT_NAME, "input_dtype": "float32", "input_quantization": (0, 0),
                "output_name": OUTPUT_NAME, "output_dtype": "float32",
                "output_quantization": (0, 0),
                "widths_name": WIDTHS if keeps_aspect else ""}  # fmt: skip
    try:
        interpreter = runtime.litert_interpreter()
    except ModuleNotFoundError:  # TensorFlow's own (deprecated) copy reads the file as well
        interpreter = tf.lite.Interpreter
    it = interpreter(model_content=data)
    inp, widths = runtime.split_inputs(it.get_input_details())
    out = it.get_output_details()[0]
    return {"input_name": inp["name"], "input_dtype": np.dtype(inp["dtype"]).name,
            "input_quantization": tuple(inp["quantization"]), "output_name": out["name"],
            "output_dtype": np.dtype(out["dtype"]).name,
            "output_quantization": tuple(out["quantization"]),
            "widths_name": widths["name"] if widths else ""}  # fmt: skip


def export_portable(cfg: PortableConfig) -> list[str]:
    """Writes one model file and its contract per variant -> the model paths. Files are
    written under temporary names and renamed into place; existing ones are not replaced."""
    paths = [model_path(cfg, v) for v in cfg.variants]
    for path in paths:
        for p in (path, contract_path(path)):
            if os.path.exists(p):
                raise FileExistsError(f"{p} exists: choose another --export_dir or remove it")
    if cfg.format == "onnx":  # before the slow part
        extras.require("tf2onnx", "export-onnx", "the ONNX export", "requirements-dev.txt")
    model, model_cfg, charset, checkpoint = trained.load_model(cfg.model_dir, cfg.checkpoint)
    net = PortableCrnn(model, model_cfg)
    size = (model_cfg.image_height, model_cfg.image_width)
    calibration = None
    source = {"checkpoint": checkpoint, "config": folder.read_config(cfg.model_dir)["config"]}
    if "int8" in cfg.variants:
        calibration = calibration_images(cfg.calibration_data, cfg.calibration_list,
                                         cfg.calibration_images, model_cfg.rule, cfg.seed)
        logging.info("int8 calibration: %d images from %s", len(calibration[0]),
                     cfg.calibration_data)
    os.makedirs(cfg.export_dir, exist_ok=True)
    for variant, path in zip(cfg.variants, paths, strict=True):
        data = _onnx(net) if cfg.format == "onnx" else _tflite(net, variant, calibration)
        extra = dict(source)
        if variant == "int8":
            extra["calibration"] = {"data": cfg.calibration_data, "images": len(calibration[0]),
                                    "seed": cfg.seed}  # fmt: skip
        contract = Contract(format=cfg.format, variant=variant, model_file=os.path.basename(path),
                            image_size=size, time_steps=model_cfg.time_steps,
                            symbols=tuple(charset.symbols), blank_id=charset.blank_id,
                            source=extra, resize=model_cfg.resize, min_width=model_cfg.min_width,
                            **_io(data, cfg.format, net.keeps_aspect))  # fmt: skip
        with tempfile.TemporaryDirectory(dir=cfg.export_dir) as tmp:
            staged = os.path.join(tmp, os.path.basename(path))
            with open(staged, "wb") as f:
                f.write(data)
            save_contract(contract, staged)
            os.rename(contract_path(staged), contract_path(path))
            os.rename(staged, path)
        logging.info("wrote %s (%.2f MB)", path, len(data) / 1e6)
    return paths

