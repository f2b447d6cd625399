"""Runs a LiteRT (.tflite) or ONNX (.onnx) export without TensorFlow: resized uint8 images in,
per-step class probabilities out.

    model = PortableModel.load("exported/crnn_int8.tflite")   # its contract beside it
    probs = model.probabilities(images)     # (B, H, W, 3) uint8 RGB -> (B, T, C) float32

LiteRT runs through ``ai-edge-litert`` (pip install 'crnn_ctc[litert]'; the older
``tflite-runtime`` also works), with its default XNNPACK CPU delegate; ONNX through
``onnxruntime`` (pip install 'crnn_ctc[onnx]') on its CPU provider. Both use every core the
process may run on unless ``num_threads`` says otherwise. Quantized inputs and outputs (int8
files) are converted with the scale and zero point the model file states.
"""

from __future__ import annotations

import importlib
import os

import numpy as np

from crnn_ctc.portable.contract import Contract, load_contract, model_format

RUNTIMES = {
    "tflite": (("ai_edge_litert.interpreter", "tflite_runtime.interpreter"), "litert",
               "ai-edge-litert"),
    "onnx": (("onnxruntime",), "onnx", "onnxruntime"),
}


def _runtime(fmt: str):
    modules, extra, package = RUNTIMES[fmt]
    for name in modules:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    raise ModuleNotFoundError(f"reading a .{fmt} model needs {package}: pip install "
                              f"'crnn_ctc[{extra}]' (or pip install {package})", name=modules[0])


def litert_interpreter():
    """LiteRT's Interpreter class (ai-edge-litert, or tflite-runtime)."""
    return _runtime("tflite").Interpreter


def _threads(num_threads: int | None) -> int:
    return num_threads or len(os.sched_getaffinity(0))


class _LiteRt:
    def __init__(self, path: str, num_threads: int | None):
        self._it = litert_interpreter()(model_path=path, num_threads=_threads(num_threads))
        self._in = self._it.get_input_details()[0]
        self._out = self._it.get_output_details()[0]
        self._batch = int(self._in["shape"][0])
        self._it.allocate_tensors()

    def describe(self) -> tuple[tuple, str, tuple, str]:
        """(input shape without the batch, input dtype, quantization, output dtype)."""
        return (tuple(int(d) for d in self._in["shape"][1:]), np.dtype(self._in["dtype"]).name,
                tuple(self._in["quantization"]), np.dtype(self._out["dtype"]).name)

    def run(self, x: np.ndarray) -> np.ndarray:
        if x.shape[0] != self._batch:  # the file holds batch 1; other sizes are one resize away
            self._it.resize_tensor_input(self._in["index"], list(x.shape))
            self._it.allocate_tensors()
            self._batch = x.shape[0]
        self._it.set_tensor(self._in["index"], x)
        self._it.invoke()
        return self._it.get_tensor(self._out["index"])


class _Onnx:
    def __init__(self, path: str, num_threads: int | None):
        ort = _runtime("onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads(num_threads)
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self._in = self._session.get_inputs()[0]

    def describe(self) -> tuple[tuple, str, tuple, str]:
        dtype = {"tensor(float)": "float32", "tensor(uint8)": "uint8"}.get(self._in.type,
                                                                            self._in.type)
        out = self._session.get_outputs()[0].type
        return (tuple(self._in.shape[1:]), dtype, (0.0, 0),
                {"tensor(float)": "float32"}.get(out, out))

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._in.name: x})[0]


class PortableModel:
    """A .tflite or .onnx export and its contract (see the module docstring)."""

    def __init__(self, path: str, contract: Contract, num_threads: int | None = None):
        self.path, self.contract = path, contract
        backend = {"tflite": _LiteRt, "onnx": _Onnx}[model_format(path)]
        self._backend = backend(path, num_threads)
        shape, dtype, _, _ = self._backend.describe()
        h, w = contract.image_size
        if tuple(shape) != (h, w, 3) or dtype != contract.input_dtype:
            raise ValueError(f"{path} takes {dtype} {list(shape)} images but its contract says "
                             f"{contract.input_dtype} {[h, w, 3]}: the files do not belong "
                             "together (export them again)")

    @classmethod
    def load(cls, path: str, num_threads: int | None = None) -> PortableModel:
        if model_format(path) is None:
            raise ValueError(f"{path}: not a .tflite or .onnx file")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found")
        return cls(path, load_contract(path), num_threads)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(B, H, W, 3) uint8 RGB, resized by the contract's rule -> (B, T, C) float32."""
        h, w = self.contract.image_size
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise ValueError(f"images of dtype {images.dtype}: expected uint8 pixels 0-255 "
                             "(the contract's input)")
        if images.ndim != 4 or images.shape[1:] != (h, w, 3) or images.shape[0] < 1:
            raise ValueError(f"images of shape {images.shape}: this model takes (batch, {h}, "
                             f"{w}, 3) RGB, resized by the contract's rule (image_np.resize)")
        c = self.contract
        if c.input_dtype == "float32":
            x = images.astype(np.float32)
        else:
            scale, zero = c.input_quantization
            info = np.iinfo(c.input_dtype)
            x = np.clip(np.round(images / scale) + zero, info.min, info.max).astype(c.input_dtype)
        out = self._backend.run(np.ascontiguousarray(x))
        scale, zero = c.output_quantization
        if scale:
            return ((out.astype(np.float32) - zero) * scale).astype(np.float32)
        return out.astype(np.float32, copy=False)
