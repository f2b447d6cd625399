"""The input contract of a LiteRT (.tflite) or ONNX (.onnx) export: one JSON file beside the
model (crnn_int8.tflite -> crnn_int8.tflite.json) saying what goes in and what comes out, so
that any runtime, in any language, feeds the model what it was trained on.

    contract = load_contract("exported/crnn_int8.tflite")
    contract.image_size, contract.symbols, contract.blank_id

What the file holds (CONTRACT_FIELDS): the format and variant; the input tensor (name, shape
[batch, H, W, 3] NHWC RGB, dtype; float32 holds the pixel values 0-255, uint8 the same values
quantized with scale 1 and zero point 0) and the resize rule (data/image_np.py: decode to RGB,
alpha over white, then per axis area averaging where it shrinks and bilinear where it grows,
aspect not kept); the output tensor (per-step class scores [batch, T, C], its kind, dtype and
quantization: "logits", which a reader log-softmaxes, or, in files exported before the kind was
written, "probabilities" after a softmax); the charset (symbol i is class i) and the CTC
blank id; the checkpoint and the model config it came from; for int8, the calibration images.
A keep_aspect (text-line) model's file also takes each image's valid width ("widths": name,
int32, shape [batch]); its input's resize_rule says keep_aspect, and a reader decodes each
image's first ceil(width / 4) output steps only.
"""

from __future__ import annotations

import dataclasses
import json
import os

from crnn_ctc.data import ctc_steps

CONTRACT_VERSION = 1
OUTPUT_KINDS = ("logits", "probabilities")
MEANING = {"logits": "per-step class logits: log-softmax them over the classes, then CTC-decode",
           "probabilities": "per-step class probabilities (softmax); CTC-decode them"}
FORMATS = {".tflite": "tflite", ".onnx": "onnx"}
_DECODE = "decode to 8-bit RGB (grey repeated, alpha composited over white); "
_FILTERS = ("one axis at a time: area averaging along an axis that shrinks, bilinear along one "
            "that grows (crnn_ctc/data/image_np.py)")
RESIZE_RULES = {
    "stretch": _DECODE + "resize to H x W without keeping the aspect, " + _FILTERS,
    "keep_aspect": _DECODE + "resize to height H keeping the aspect (width rounded, at least 1, "
                   "at most W: a wider crop is squeezed to W; at least input.min_width where "
                   "that is given: a narrower crop is stretched to it), " + _FILTERS
                   + "; then pad it right to W with any value and give its width in the widths "
                   "input",
}
RESIZE_RULE = RESIZE_RULES["stretch"]
WIDTHS_MEANING = ("each image's valid width in pixels (1..W): the model reads the columns "
                  "before it, and its output's first ceil(width / 4) steps are the image's; "
                  "decode only those")


@dataclasses.dataclass(frozen=True)
class Contract:
    format: str  # tflite | onnx
    variant: str  # fp32 | fp16 | dynamic | int8
    model_file: str  # the model's file name, in the same folder
    input_name: str
    input_dtype: str  # float32 | uint8
    input_quantization: tuple[float, int]  # (scale, zero point); (0, 0) = not quantized
    image_size: tuple[int, int]  # H, W
    output_name: str
    output_dtype: str
    output_quantization: tuple[float, int]
    time_steps: int
    symbols: tuple[str, ...]  # class i is symbols[i]; the blank is the last class
    blank_id: int
    source: dict = dataclasses.field(default_factory=dict)  # checkpoint, config, calibration
    output_kind: str = "logits"  # logits | probabilities (files written before the kind was)
    resize: str = "stretch"  # stretch | keep_aspect (files written before lines: stretch)
    widths_name: str = ""  # keep_aspect: the second input, (batch,) int32 valid widths
    min_width: int = 0  # keep_aspect: narrower crops are stretched to it (data/resize_rule.py)

    def __post_init__(self):
        if self.format not in FORMATS.values():
            raise ValueError(f"contract format {self.format!r}: expected tflite or onnx")
        if self.blank_id != len(self.symbols):
            raise ValueError(f"contract blank_id {self.blank_id} must be the class after the "
                             f"{len(self.symbols)} symbols")
        if self.input_dtype not in ("float32", "uint8", "int8"):
            raise ValueError(f"contract input dtype {self.input_dtype!r}: expected float32, "
                             "uint8 or int8")
        if self.resize not in RESIZE_RULES:
            raise ValueError(f"contract resize {self.resize!r}: expected "
                             + " or ".join(RESIZE_RULES))
        if (self.resize == "keep_aspect") != bool(self.widths_name):
            raise ValueError("a keep_aspect contract names its widths input, a stretch one none")
        if self.output_kind not in OUTPUT_KINDS:
            raise ValueError(f"contract output kind {self.output_kind!r}: expected "
                             + " or ".join(OUTPUT_KINDS))

    @property
    def num_classes(self) -> int:
        return self.blank_id + 1

    @property
    def keeps_aspect(self) -> bool:
        return self.resize == "keep_aspect"

    def valid_steps(self, widths) -> list[int]:
        """keep_aspect: each image's own output steps for its valid width in pixels."""
        return [min(self.time_steps, -(-int(w) // ctc_steps.WIDTH_STRIDE)) for w in widths]

    def to_json(self) -> dict:
        h, w = self.image_size
        data = {
            "contract_version": CONTRACT_VERSION,
            "format": self.format, "variant": self.variant, "model_file": self.model_file,
            "input": {"name": self.input_name, "shape": [None, h, w, 3], "layout": "NHWC RGB",
                      "batch": "any; a .tflite file is saved with batch 1: resize its input "
                               "(resize_tensor_input, then allocate_tensors) for others",
                      "dtype": self.input_dtype, "values": "pixels 0-255",
                      "quantization": list(self.input_quantization),
                      "resize_rule": self.resize, "resize": RESIZE_RULES[self.resize],
                      **({"min_width": self.min_width} if self.min_width else {})},
            "output": {"name": self.output_name, "shape": [None, self.time_steps,
                                                           self.num_classes],
                       "kind": self.output_kind, "meaning": MEANING[self.output_kind],
                       "dtype": self.output_dtype,
                       "quantization": list(self.output_quantization)},
            "charset": list(self.symbols), "blank_id": self.blank_id,
            "source": self.source,
        }  # fmt: skip
        if self.keeps_aspect:
            data["widths"] = {"name": self.widths_name, "shape": [None], "dtype": "int32",
                              "meaning": WIDTHS_MEANING}
        return data

    @classmethod
    def from_json(cls, data: dict) -> Contract:
        try:
            if data["contract_version"] != CONTRACT_VERSION:
                raise ValueError(f"contract_version {data['contract_version']}: this crnn_ctc "
                                 f"reads version {CONTRACT_VERSION}")
            inp, out = data["input"], data["output"]
            return cls(
                format=data["format"], variant=data["variant"], model_file=data["model_file"],
                input_name=inp["name"], input_dtype=inp["dtype"],
                input_quantization=(float(inp["quantization"][0]), int(inp["quantization"][1])),
                image_size=(int(inp["shape"][1]), int(inp["shape"][2])),
                output_name=out["name"], output_dtype=out["dtype"],
                output_quantization=(float(out["quantization"][0]),
                                     int(out["quantization"][1])),
                time_steps=int(out["shape"][1]), symbols=tuple(data["charset"]),
                blank_id=int(data["blank_id"]), source=data.get("source", {}),
                # a file without the kind was written when every file ended at a softmax
                output_kind=out.get("kind", "probabilities"),
                resize=inp.get("resize_rule", "stretch"),
                widths_name=data["widths"]["name"] if "widths" in data else "",
                min_width=int(inp.get("min_width", 0)),
            )  # fmt: skip
        except (KeyError, IndexError, TypeError) as err:
            raise ValueError(f"not a crnn_ctc contract: missing or malformed {err}") from err


def contract_path(model_path: str) -> str:
    """crnn_int8.tflite -> crnn_int8.tflite.json, in the same folder."""
    return model_path + ".json"


def model_format(path: str) -> str | None:
    """tflite | onnx by the file's extension, None for anything else."""
    return FORMATS.get(os.path.splitext(path)[1].lower())


def save_contract(contract: Contract, model_path: str) -> str:
    path = contract_path(model_path)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(contract.to_json(), f, indent=1, ensure_ascii=False)
        f.write("\n")
    return path


def load_contract(model_path: str) -> Contract:
    path = contract_path(model_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} not found: the contract written beside {model_path} by "
                                "tools/export_crnn_ctc.py --format tflite|onnx")
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not JSON ({err})") from err
    try:
        contract = Contract.from_json(data)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err
    if contract.model_file != os.path.basename(model_path):
        raise ValueError(f"{path} describes {contract.model_file}, not "
                         f"{os.path.basename(model_path)}")
    return contract
