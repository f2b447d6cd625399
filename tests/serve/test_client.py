"""serve/client.py against a local stand-in server that answers 400, 503, 404 or sleeps: what
is sent again, how often, and what the caller is told."""

import json
import os
import subprocess
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from crnn_ctc.serve import client
from tests.conftest import ROOT


class StandIn:
    """A REST server: ``answer(n_images, request_number) -> (status, body)``, or "sleep"."""

    def __init__(self, answer):
        self.requests: list[int] = []  # images per request, in order
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                n = len(body["instances"])
                stand_in.requests.append(n)
                status, reply = answer(n, len(stand_in.requests))
                if status == "sleep":
                    time.sleep(reply)
                    status, reply = 200, {"predictions": [{"text": "late", "score": 0.0}] * n}
                data = json.dumps(reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _ok(n):
    return 200, {"predictions": [{"text": f"w{i}", "score": -0.1, "error": ""}
                                 for i in range(n)]}  # fmt: skip


@pytest.fixture
def images(tmp_path):
    paths = []
    for i in range(32):
        path = tmp_path / f"{i}.png"
        path.write_bytes(b"\x89PNG fake " + bytes([i]))  # the stand-in never decodes
        paths.append(str(path))
    return paths


RETRY = client.Retry(3, 0.5)


def _run(answer, paths, timeout=5.0, retry=RETRY):
    server = StandIn(answer)
    sleeps = []
    try:
        predict = client.rest_predictor(server.address, "crnn", timeout=timeout)
        try:
            out = list(client.send(predict, paths, retry, sleep=sleeps.append))
        except client.ServingError as err:
            out = err
    finally:
        server.close()
    return out, server.requests, sleeps


def test_a_refused_batch_is_sent_again_image_by_image(images):
    """An export with --hard_errors answers 400 for a batch holding a bad image."""
    def answer(n, k):
        if n > 1:
            return 400, {"error": "not an image"}
        return (400, {"error": "not an image"}) if k == 5 else _ok(1)  # the 4th image is bad

    out, requests, sleeps = _run(answer, images[:6])
    assert requests == [6, 1, 1, 1, 1, 1, 1] and sleeps == []
    refused = 'HTTP 400: {"error": "not an image"}'
    assert [e for _, _, e in out] == [None] * 3 + [refused] + [None] * 2
    assert [r["text"] for _, r, _ in out if r] == ["w0"] * 5


def test_an_unavailable_server_is_retried_as_one_request_then_a_clear_error(images):
    out, requests, sleeps = _run(lambda n, k: (503, {"error": "overloaded"}), images)
    assert requests == [32, 32, 32]  # never one request per image
    assert sleeps == [0.5, 1.0]  # backoff doubles
    assert isinstance(out, client.ServerUnavailable)
    assert str(out) == ('the server did not answer 32 images after 3 tries: HTTP 503: '
                        '{"error": "overloaded"}')


def test_a_busy_server_that_recovers_answers_every_image(images):
    out, requests, sleeps = _run(lambda n, k: (503, {}) if k < 3 else _ok(n), images)
    assert requests == [32, 32, 32] and sleeps == [0.5, 1.0]
    assert [r["text"] for _, r, _ in out] == [f"w{i}" for i in range(32)]


def test_a_timeout_is_retried_with_backoff_not_per_image(images):
    # 2 whole-batch tries (not 32 per-image resends): counted at the stand-in server
    out, requests, sleeps = _run(lambda n, k: ("sleep", 1.0), images, timeout=0.3,
                                 retry=client.Retry(2, 0.25))  # fmt: skip
    assert requests == [32, 32] and sleeps == [0.25]
    assert isinstance(out, client.ServerUnavailable) and "timed out" in str(out)


def test_other_failures_stop_at_once(images):
    out, requests, sleeps = _run(lambda n, k: (404, {"error": "no model crnn"}), images)
    assert requests == [32] and sleeps == []
    assert type(out) is client.ServingError and "HTTP 404" in str(out)
    out, requests, _ = _run(lambda n, k: _ok(n - 1), images)  # one answer short
    assert str(out) == "32 images sent, 31 answers"


def test_a_server_that_is_not_there_is_unavailable(images):
    server = StandIn(lambda n, k: _ok(n))
    address = server.address
    server.close()  # nothing listens on the port now
    predict = client.rest_predictor(address, "crnn", timeout=2)
    sleeps = []
    with pytest.raises(client.ServerUnavailable, match="after 2 tries"):
        list(client.send(predict, images[:2], client.Retry(2, 0.1), sleep=sleeps.append))
    assert sleeps == [0.1]


def test_grpc_codes_map_to_the_same_rules(images):
    import grpc
    from tensorflow_serving.apis import prediction_service_pb2_grpc

    calls = []

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (the proto's name)
            calls.append(request.inputs["image_bytes"].tensor_shape.dim[0].size)
            code = {1: grpc.StatusCode.UNAVAILABLE, 2: grpc.StatusCode.DEADLINE_EXCEEDED}.get(
                len(calls), grpc.StatusCode.NOT_FOUND)
            context.abort(code, f"try {len(calls)}")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    sleeps = []
    try:
        predict = client.grpc_predictor(f"127.0.0.1:{port}", "crnn", timeout=5)
        with pytest.raises(client.ServingError, match="NOT_FOUND: try 3") as err:
            list(client.send(predict, images[:4], client.Retry(5, 0.5), sleep=sleeps.append))
    finally:
        server.stop(None)
    assert type(err.value) is client.ServingError
    assert calls == [4, 4, 4] and sleeps == [0.5, 1.0]


def test_the_tool_stops_with_the_reason_and_exit_code_2(images):
    server = StandIn(lambda n, k: (503, {"error": "overloaded"}))
    try:
        run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "serving_client.py"),
                              "--server", server.address, "--backoff", "0", "--batch_size", "16",
                              *images[:20]], capture_output=True, text=True, timeout=120)
    finally:
        server.close()
    assert run.returncode == 2, run.stderr[-2000:]
    assert "after 3 tries: HTTP 503" in run.stderr and "(20 images not read)" in run.stderr
    assert server.requests == [16, 16, 16]
