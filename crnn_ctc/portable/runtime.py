"""Runs a LiteRT (.tflite) or ONNX (.onnx) export without TensorFlow: resized uint8 images in,
per-step class log-probabilities out.

    model = PortableModel.load("exported/crnn_int8.tflite")   # its contract beside it
    logp = model.log_probabilities(images)  # (B, H, W, 3) uint8 RGB -> (B, T, C) float64
    logp = model.log_probabilities(images, widths)  # a line model: + valid widths (B,)

LiteRT runs through ``ai-edge-litert`` (pip install ai-edge-litert; the older
``tflite-runtime`` also works), with its default XNNPACK CPU delegate; ONNX through
``onnxruntime`` on its CPU provider. Both use every core the
process may run on unless ``num_threads`` says otherwise. Quantized inputs and outputs (int8
files) are converted with the scale and zero point the model file states; a file whose tensors
differ from its contract is refused. A file ends at the logits (its contract's output kind;
files exported before the kind was written end at a softmax, and are read as such).

Thread-safe: one PortableModel may be called from several threads at once. A LiteRT call takes
an idle interpreter from the model's pool (one more is made when every one is busy); an ONNX
session is safe to call concurrently as it is.
"""

from __future__ import annotations

import importlib
import os
import queue
import threading

import numpy as np

from crnn_ctc.portable import ctc
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
        except ModuleNotFoundError as err:
            if err.name is None or not name.startswith(err.name):
                raise  # the runtime is there but something it needs is not: say that
    raise ModuleNotFoundError(f"reading a .{fmt} model needs {package}: pip install {package} "
                              f"(beside TensorFlow also: pip install 'crnn_ctc[{extra}]')",
                              name=modules[0])


def litert_interpreter():
    """LiteRT's Interpreter class (ai-edge-litert, or tflite-runtime)."""
    return _runtime("tflite").Interpreter


def cores() -> int:
    """The cores this process may run on (Linux), else the machine's."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _threads(num_threads: int | None) -> int:
    return num_threads or cores()


SHARING = ("pool", "lock")  # how threads share a LiteRT file (_LiteRt)
_ONNX = {"tensor(float)": "float32", "tensor(uint8)": "uint8"}


def split_inputs(details: list[dict]) -> tuple[dict, dict | None]:
    """A LiteRT file's input details -> (the pixels input, the widths input or None): by rank,
    not by position (a converter may order a signature's inputs either way)."""
    pixels = [d for d in details if len(d["shape"]) == 4]
    widths = [d for d in details if len(d["shape"]) == 1]
    if len(pixels) != 1 or len(widths) > 1 or len(details) != len(pixels) + len(widths):
        shapes = [tuple(int(v) for v in d["shape"]) for d in details]
        raise ValueError(f"a LiteRT file with inputs of shapes {shapes}: expected the pixels "
                         "(batch, H, W, 3) and, for a line model, the widths (batch,)")
    return pixels[0], widths[0] if widths else None


def _quantization(detail: dict) -> tuple[float, int]:
    scale, zero = detail["quantization"]
    return float(scale), int(zero)


class _LiteRt:
    """A LiteRT Interpreter is not thread-safe (set_tensor / invoke / get_tensor share its
    buffers). ``sharing="pool"``: a call takes an idle interpreter of the file from a pool, or
    makes one when all are busy, and puts it back after, so N threads calling at once hold N
    interpreters (one each; the pool never grows past the most concurrent calls).
    ``sharing="lock"``: one interpreter, calls take turns. BENCHMARKS.md times both."""

    def __init__(self, path: str, num_threads: int | None, sharing: str = "pool"):
        if sharing not in SHARING:
            raise ValueError(f"sharing {sharing!r}: choose one of {SHARING}")
        self._path, self._num_threads, self.sharing = path, _threads(num_threads), sharing
        self._idle: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        first = self._new()
        self._in, self._widths = split_inputs(first[0].get_input_details())
        self._out = first[0].get_output_details()[0]
        self._idle.put(first)
        self.interpreters = 1

    def _new(self) -> list:
        it = litert_interpreter()(model_path=self._path, num_threads=self._num_threads)
        it.allocate_tensors()
        return [it, int(it.get_input_details()[0]["shape"][0])]  # the interpreter, its batch

    def describe(self) -> dict:
        """What the file says of its input and output (shapes without the batch)."""
        return {"input_shape": tuple(int(d) for d in self._in["shape"][1:]),
                "input_dtype": np.dtype(self._in["dtype"]).name,
                "input_quantization": _quantization(self._in),
                "output_shape": tuple(int(d) for d in self._out["shape"][1:]),
                "output_dtype": np.dtype(self._out["dtype"]).name,
                "output_quantization": _quantization(self._out),
                "widths_name": self._widths["name"] if self._widths else ""}

    def run(self, x: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        if self.sharing == "lock":
            with self._lock:
                state = self._idle.get()
                try:
                    return self._invoke(state, x, widths)
                finally:
                    self._idle.put(state)
        try:
            state = self._idle.get_nowait()
        except queue.Empty:  # every interpreter is busy in another thread
            state = self._new()
            with self._lock:
                self.interpreters += 1
        try:
            return self._invoke(state, x, widths)
        finally:
            self._idle.put(state)

    def _invoke(self, state: list, x: np.ndarray, widths: np.ndarray | None) -> np.ndarray:
        it, batch = state
        if x.shape[0] != batch:  # the file holds batch 1; other sizes are one resize away
            it.resize_tensor_input(self._in["index"], list(x.shape))
            if self._widths is not None:
                it.resize_tensor_input(self._widths["index"], [x.shape[0]])
            it.allocate_tensors()
            state[1] = x.shape[0]
        it.set_tensor(self._in["index"], x)
        if self._widths is not None:
            it.set_tensor(self._widths["index"], widths)
        it.invoke()
        return it.get_tensor(self._out["index"])  # a copy: the next invoke cannot change it


class _Onnx:
    def __init__(self, path: str, num_threads: int | None):
        ort = _runtime("onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads(num_threads)
        self._session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        inputs = self._session.get_inputs()
        self._in = next((i for i in inputs if len(i.shape) == 4), inputs[0])
        self._widths = next((i for i in inputs if len(i.shape) == 1), None)

    def describe(self) -> dict:
        out = self._session.get_outputs()[0]
        return {"input_shape": tuple(self._in.shape[1:]),
                "input_dtype": _ONNX.get(self._in.type, self._in.type),
                "input_quantization": (0.0, 0), "output_shape": tuple(out.shape[1:]),
                "output_dtype": _ONNX.get(out.type, out.type), "output_quantization": (0.0, 0),
                "widths_name": self._widths.name if self._widths else ""}

    def run(self, x: np.ndarray, widths: np.ndarray | None = None) -> np.ndarray:
        feed = {self._in.name: x}
        if self._widths is not None:
            feed[self._widths.name] = widths
        return self._session.run(None, feed)[0]


class PortableModel:
    """A .tflite or .onnx export and its contract (see the module docstring)."""

    def __init__(self, path: str, contract: Contract, num_threads: int | None = None,
                 sharing: str = "pool"):  # fmt: skip
        self.path, self.contract = path, contract
        if model_format(path) == "tflite":
            self._backend = _LiteRt(path, num_threads, sharing)
        else:  # onnxruntime's InferenceSession.run may be called from several threads at once
            self._backend = _Onnx(path, num_threads)
        # the file's own tensors decide; a contract that says otherwise belongs to another file
        self.io = self._backend.describe()
        h, w = contract.image_size
        expected = {"input_shape": (h, w, 3), "input_dtype": contract.input_dtype,
                    "input_quantization": tuple(contract.input_quantization),
                    "output_shape": (contract.time_steps, contract.num_classes),
                    "output_dtype": contract.output_dtype,
                    "output_quantization": tuple(contract.output_quantization),
                    "widths_name": contract.widths_name}
        wrong = [f"{k} {self.io[k]} (contract: {v})" for k, v in expected.items()
                 if (self.io[k] if isinstance(v, str) else tuple(self.io[k])) != v]
        if wrong:
            raise ValueError(f"{path} and its contract do not belong together: the file has "
                             + "; ".join(wrong) + " (export them again)")

    @classmethod
    def load(cls, path: str, num_threads: int | None = None,
             sharing: str = "pool") -> PortableModel:  # fmt: skip
        if model_format(path) is None:
            raise ValueError(f"{path}: not a .tflite or .onnx file")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path} not found")
        return cls(path, load_contract(path), num_threads, sharing)

    def log_probabilities(self, images: np.ndarray, widths=None) -> np.ndarray:
        """(B, H, W, 3) uint8 RGB, resized by the contract's rule (and a keep_aspect model's
        valid widths (B,)) -> (B, T, C) per-step class log-probabilities, float64."""
        out = self.output(images, widths)
        if self.contract.output_kind == "logits":
            return ctc.log_softmax(out)
        return ctc.log_probs(out)

    def probabilities(self, images: np.ndarray, widths=None) -> np.ndarray:
        """As log_probabilities, exponentiated: (B, T, C) float32 summing to 1 per step."""
        return np.exp(self.log_probabilities(images, widths)).astype(np.float32)

    def output(self, images: np.ndarray, widths=None) -> np.ndarray:
        """(B, H, W, 3) uint8 RGB, resized by the contract's rule -> the file's output
        (dequantized), float32: (B, T, C) of the contract's output kind. A keep_aspect
        model takes each image's valid width in pixels too (``widths``, 1..W): the crop
        resized by the rule, padded right to W (image_np.pad_right)."""
        h, w = self.contract.image_size
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise ValueError(f"images of dtype {images.dtype}: expected uint8 pixels 0-255 "
                             "(the contract's input)")
        if images.ndim != 4 or images.shape[1:] != (h, w, 3) or images.shape[0] < 1:
            raise ValueError(f"images of shape {images.shape}: this model takes (batch, {h}, "
                             f"{w}, 3) RGB, resized by the contract's rule (image_np.resize)")
        widths = self._widths(widths, images.shape[0], w)
        dtype = self.io["input_dtype"]
        if dtype == "float32":
            x = images.astype(np.float32)
        else:
            scale, zero = self.io["input_quantization"]
            info = np.iinfo(dtype)
            x = np.clip(np.round(images / scale) + zero, info.min, info.max).astype(dtype)
        out = self._backend.run(np.ascontiguousarray(x), widths)
        scale, zero = self.io["output_quantization"]
        if scale:
            return ((out.astype(np.float32) - zero) * scale).astype(np.float32)
        return out.astype(np.float32, copy=False)

    def _widths(self, widths, batch: int, canvas: int) -> np.ndarray | None:
        if not self.contract.keeps_aspect:
            if widths is not None:
                raise ValueError("widths: this model stretches every image to its size and "
                                 "takes none")
            return None
        if widths is None:
            raise ValueError("a keep_aspect (line) model takes each image's valid width too: "
                             "output(images, widths)")
        widths = np.asarray(widths)
        if widths.shape != (batch,) or not np.issubdtype(widths.dtype, np.integer):
            raise ValueError(f"widths of shape {widths.shape} and dtype {widths.dtype}: "
                             f"expected ({batch},) integers")
        if widths.min() < 1 or widths.max() > canvas:
            raise ValueError(f"widths from {widths.min()} to {widths.max()}: each must be "
                             f"1..{canvas} (the crop's width after the resize rule)")
        return widths.astype(np.int32)
