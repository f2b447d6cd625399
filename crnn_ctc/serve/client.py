"""Calling a model on TF Serving (REST or gRPC), with the retry rules of a well-behaved client.

    predict = rest_predictor("localhost:8501", "crnn", timeout=30)   # or grpc_predictor(...)
    for path, row, error in send(predict, paths, Retry(attempts=3, backoff=0.5)): ...

What a failure means decides what is sent again:
  - the request was refused as a whole (INVALID_ARGUMENT, HTTP 400: an export with
    --hard_errors, or one from before the per-image "error" output, refusing one bad image):
    the images are sent again one by one, so only the bad one is lost;
  - the server is busy or away (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, HTTP 429
    and 5xx, a timeout, a refused connection): the same request is sent again up to
    ``Retry.attempts`` times in all, waiting backoff, 2 x backoff, ... between tries, then
    ServerUnavailable is raised (never one request per image, each with the full timeout);
  - anything else (no such model, HTTP 404, a malformed answer): ServingError at once.
"""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

from crnn_ctc import extras
from crnn_ctc.serve import payloads

TRANSIENT_GRPC = ("UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED")


class ServingError(RuntimeError):
    """The server answered in a way no retry can mend."""


class RequestRefused(ServingError):
    """INVALID_ARGUMENT / HTTP 400: this request's content was refused."""


class ServerUnavailable(ServingError):
    """The server is busy or cannot be reached (after every retry, when raised by send)."""


@dataclasses.dataclass(frozen=True)
class Retry:
    attempts: int = 3  # tries of one request in all, when the server is unavailable
    backoff: float = 0.5  # seconds before the second try; doubled before each later one

    def __post_init__(self):
        if self.attempts < 1 or self.backoff < 0:
            raise ValueError(f"retry attempts must be >= 1 and backoff >= 0, not {self}")


def rest_predictor(server: str, model_name: str, version: int = 0,
                   signature: str = payloads.SIGNATURE, timeout: float = 30.0) -> Callable:
    """-> predict(images: list[bytes]) -> rows, over TF Serving's REST API."""
    host, port = server.rsplit(":", 1)
    url = payloads.rest_url(host, int(port), model_name, version)

    def predict(images: list[bytes]) -> list[dict]:
        body = json.dumps(payloads.rest_body(images, signature)).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return payloads.parse_rest(json.load(response))
        except urllib.error.HTTPError as err:  # TF Serving puts the reason in a JSON body
            message = f"HTTP {err.code}: {err.read().decode('utf-8', 'replace')}"
            if err.code == 400:
                raise RequestRefused(message) from err
            if err.code == 429 or err.code >= 500:
                raise ServerUnavailable(message) from err
            raise ServingError(message) from err
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            reason = getattr(err, "reason", err)
            raise ServerUnavailable(f"{url}: {reason or type(err).__name__}") from err
        except (ValueError, KeyError) as err:  # not JSON, or not a predict response
            raise ServingError(f"{url}: unexpected answer: {err}") from err

    return predict


def grpc_predictor(server: str, model_name: str, version: int = 0,
                   signature: str = payloads.SIGNATURE, timeout: float = 30.0) -> Callable:
    """-> predict(images) -> rows, over TF Serving's gRPC PredictionService."""
    service = extras.require("tensorflow_serving.apis.prediction_service_pb2_grpc", "serving",
                             "--protocol grpc")  # fmt: skip
    import grpc  # noqa: PLC0415 (gRPC and its protos load only when asked for)

    stub = service.PredictionServiceStub(grpc.insecure_channel(server))

    def predict(images: list[bytes]) -> list[dict]:
        request = payloads.grpc_request(images, model_name, signature, version)
        try:
            return payloads.parse_grpc(stub.Predict(request, timeout))
        except grpc.RpcError as err:
            code = err.code().name
            message = f"{code}: {err.details()}"
            if code == "INVALID_ARGUMENT":
                raise RequestRefused(message) from err
            if code in TRANSIENT_GRPC:
                raise ServerUnavailable(message) from err
            raise ServingError(message) from err

    return predict


def call(predict: Callable, images: list[bytes], retry: Retry,
         sleep: Callable[[float], None] = time.sleep) -> list[dict]:  # fmt: skip
    """``predict(images)``, tried again with backoff while the server is unavailable."""
    for attempt in range(retry.attempts):
        try:
            return predict(images)
        except ServerUnavailable as err:
            if attempt + 1 == retry.attempts:
                raise ServerUnavailable(f"the server did not answer {len(images)} images after "
                                        f"{retry.attempts} tries: {err}") from err
            sleep(retry.backoff * 2**attempt)
    raise AssertionError("unreachable")


def send(predict: Callable, paths: list[str], retry: Retry = Retry(),
         sleep: Callable[[float], None] = time.sleep) -> Iterator[tuple]:
    """Yields (path, row, None) or (path, None, reason) per image. A bad image's reason comes
    from the model's "error" output; a refused request is sent again image by image."""
    images = []
    for path in paths:
        with open(path, "rb") as f:
            images.append(f.read())
    try:
        rows = call(predict, images, retry, sleep)
    except RequestRefused as err:
        if len(paths) == 1:
            yield paths[0], None, str(err)
            return
        for path in paths:
            yield from send(predict, [path], retry, sleep)
        return
    if len(rows) != len(paths):
        raise ServingError(f"{len(paths)} images sent, {len(rows)} answers")
    for path, row in zip(paths, rows, strict=True):
        yield (path, None, row["error"]) if row.get("error") else (path, row, None)
