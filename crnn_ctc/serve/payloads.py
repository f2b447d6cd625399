"""Requests and responses of the exported model on TF Serving, and its warmup file.

    body = rest_body([jpeg_bytes])                 # POST to rest_url(host, 8501, "crnn")
    rows = parse_rest(response_json)               # [{"text": ..., "score": ...}, ...]
    request = grpc_request([jpeg_bytes], "crnn")   # PredictionService.Predict on port 8500
    rows = parse_grpc(stub.Predict(request, timeout))

REST uses the row format, each image a named input encoded as {"b64": ...} (TF Serving's rule
for binary strings); the outputs carry no "_bytes" suffix, so texts come back as JSON strings:
    {"signature_name": "serving_default", "instances": [{"image_bytes": {"b64": "..."}}]}
 -> {"predictions": [{"text": "hello", "score": -0.03}]}
gRPC sends one DT_STRING tensor of shape [N] under the same input name.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import cv2
import numpy as np

from crnn_ctc import extras
from crnn_ctc.data import image_np

INPUT_BYTES = "image_bytes"  # export.INPUT_BYTES (kept here so clients need no model code)
SIGNATURE = "serving_default"


def rest_url(host: str, port: int, model_name: str, version: int = 0) -> str:
    """TF Serving's predict endpoint; version 0 = the latest version the server loaded."""
    path = f"/v1/models/{model_name}" + (f"/versions/{version}" if version else "")
    return f"http://{host}:{port}{path}:predict"


def rest_body(images: Sequence[bytes], signature: str = SIGNATURE) -> dict:
    """The JSON request (row format) for encoded images."""
    return {
        "signature_name": signature,
        "instances": [{INPUT_BYTES: {"b64": base64.b64encode(data).decode("ascii")}}
                      for data in images],
    }  # fmt: skip


def parse_rest(body: dict) -> list[dict]:
    """A predict response (row format) -> one dict per image: text, score (+ texts, scores)."""
    if "error" in body:
        raise ValueError(f"TF Serving error: {body['error']}")
    rows = body["predictions"]
    return [{key: row[key] for key in ("text", "score", "texts", "scores", "error") if key in row}
            for row in rows]  # fmt: skip


def grpc_request(images: Sequence[bytes], model_name: str, signature: str = SIGNATURE,
                 version: int = 0):  # fmt: skip
    """A tensorflow_serving.apis PredictRequest for encoded images."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2  # noqa: PLC0415
    predict_pb2 = extras.require("tensorflow_serving.apis.predict_pb2", "serving", "gRPC requests")

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    if version:
        request.model_spec.version.value = version
    request.inputs[INPUT_BYTES].CopyFrom(tensor_pb2.TensorProto(
        dtype=types_pb2.DT_STRING,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(images))]),
        string_val=list(images),
    ))  # fmt: skip
    return request


def parse_grpc(response) -> list[dict]:
    """A PredictResponse -> one dict per image, as ``parse_rest``. Tensors are read with
    tf.make_ndarray, so both encodings a server may use (typed fields or tensor_content) work."""
    import tensorflow as tf  # noqa: PLC0415 (the gRPC protos import it anyway)

    return rows({key: tf.make_ndarray(value) for key, value in response.outputs.items()})


def rows(outputs: dict) -> list[dict]:
    """The signature's outputs as arrays -> one dict per image: text, score (+ texts, scores)."""
    out = [{"text": t.decode("utf-8"), "score": float(s)}
           for t, s in zip(outputs["text"].tolist(), outputs["score"].tolist(), strict=True)]
    if "texts" in outputs:
        for row, texts, scores in zip(out, outputs["texts"].tolist(),
                                      outputs["scores"].tolist(), strict=True):
            row["texts"] = [t.decode("utf-8") for t in texts]
            row["scores"] = [float(s) for s in scores]
    if "error" in outputs:  # exports before the per-image error output have none
        for row, error in zip(out, outputs["error"].tolist(), strict=True):
            row["error"] = error.decode("utf-8")
    return out  # fmt: skip


def warmup_images(count: int, seed: int = 0) -> list[bytes]:
    """``count`` small rendered word images of varied sizes, alternately JPEG and PNG."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(count):
        height, width = int(rng.integers(24, 64)), int(rng.integers(60, 300))
        image = np.full((height, width, 3), 255, np.uint8)
        scale = height / 40
        cv2.putText(image, "warmup", (4, int(height * 0.75)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (0, 0, 0), max(1, int(2 * scale)))  # fmt: skip
        images.append(image_np.encode(image, "jpeg" if i % 2 == 0 else "png"))
    return images


def write_warmup(path: str, batch_sizes: Sequence[int]) -> int:
    """Writes TF Serving's warmup file (a TFRecord of PredictionLog): one serving_default
    request per batch size. Returns the number of records."""
    import tensorflow as tf  # noqa: PLC0415

    prediction_log_pb2 = extras.require("tensorflow_serving.apis.prediction_log_pb2", "serving",
                                        "the TF Serving warmup file")

    with tf.io.TFRecordWriter(path) as writer:
        for k, size in enumerate(batch_sizes):
            request = grpc_request(warmup_images(size, seed=k), model_name="crnn")
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
    return len(batch_sizes)
