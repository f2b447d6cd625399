"""tools/inference_crnn_ctc.py on SavedModels and checkpoints, and tools/serving_client.py
against stand-in servers that answer as TF Serving's REST and gRPC APIs are documented to."""

import base64
import csv
import io
import json
import os
import subprocess
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import tensorflow as tf
from PIL import Image

from crnn_ctc.data import image_files
from crnn_ctc.serve import export, graph, versions
from tests.conftest import ROOT, WORDS, word_image, write_file


def tool(name, *args):
    run = subprocess.run([sys.executable, os.path.join(ROOT, "tools", name), *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)  # fmt: skip
    return run.returncode, run.stdout, run.stderr


@pytest.fixture(scope="module")
def served(trained32, tmp_path_factory):
    """An export base with version 1 (one path) and version 2 (three paths), and a folder of
    five learned words in several formats plus two files that are not usable images."""
    base = str(tmp_path_factory.mktemp("serve") / "crnn")
    export.export(export.ExportConfig(trained32.run, base, warmup_batch_sizes=()))
    export.export(export.ExportConfig(trained32.run, base, decoder=graph.Decoder(top_paths=3),
                                      warmup_batch_sizes=()))  # fmt: skip
    folder = tmp_path_factory.mktemp("crops")
    names = {}
    for i, (word, ext) in enumerate(zip(WORDS[:5], ["jpg", "png", "bmp", "gif", "jpg"],
                                        strict=True)):  # fmt: skip
        with open(os.path.join(trained32.images, "images", f"{i:03d}.jpg"), "rb") as f:
            data = f.read()
        if ext != "jpg":
            buf = io.BytesIO()
            Image.open(io.BytesIO(data)).save(buf, {"png": "PNG", "bmp": "BMP", "gif": "GIF"}[ext])
            data = buf.getvalue()
        names[f"w{i}.{ext}"] = word
        write_file(folder / f"w{i}.{ext}", data)
    write_file(folder / "notes.jpg", b"this is not an image")
    write_file(folder / "cut.png", word_image("cut", fmt="PNG")[:60])
    write_file(folder / "readme.txt", b"not listed: not an image extension")
    return base, str(folder), names


def predicted(stdout):
    """'Predict <name> image as: <text>  (score s)' lines -> {name: text}."""
    out = {}
    for line in stdout.splitlines():
        if line.startswith("Predict "):
            name, rest = line[len("Predict "):].split(" image as: ", 1)
            out[name] = rest.rsplit("  (score ", 1)[0]
    return out


def test_inference_cli_reads_an_export_base_and_skips_bad_files(served, tmp_path):
    base, folder, names = served
    out_file = str(tmp_path / "out.jsonl")
    code, stdout, stderr = tool("inference_crnn_ctc.py", "--model_dir", base, "--image_dir",
                                folder, "--output_file", out_file, "--batch_size", "4")  # fmt: skip
    assert code == 0, stderr[-2000:]
    assert predicted(stdout) == names
    assert "skipped notes.jpg: not an image: not a JPEG, PNG, GIF or BMP file" in stderr
    assert "skipped cut.png: " in stderr
    assert "read 5 images, skipped 2" in stderr
    rows = [json.loads(line) for line in open(out_file, encoding="utf-8")]
    assert {r["image"]: r["text"] for r in rows} == names
    assert all(len(r["texts"]) == 3 and r["texts"][0] == r["text"] for r in rows)  # version 2


def test_inference_cli_checkpoint_and_version_folder_agree(served, trained32, tmp_path):
    base, folder, names = served
    listing = tmp_path / "list.txt"
    listing.write_text("w0.jpg cat\nw2.bmp\nmissing.png\n", encoding="utf-8")
    out_csv = str(tmp_path / "out.csv")
    code, stdout, stderr = tool("inference_crnn_ctc.py", "--model_dir", trained32.run,
                                "--image_dir", folder, "--image_list", str(listing),
                                "--output_file", out_csv)  # fmt: skip
    assert code == 0, stderr[-2000:]
    assert predicted(stdout) == {"w0.jpg": names["w0.jpg"], "w2.bmp": names["w2.bmp"]}
    assert "list.txt line 3: no such image: missing.png" in stderr
    with open(out_csv, encoding="utf-8", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["image", "text", "score"]
    assert [r[:2] for r in table[1:]] == [["w0.jpg", names["w0.jpg"]], ["w2.bmp", names["w2.bmp"]]]

    version1 = os.path.join(base, "1")
    code, stdout, _ = tool("inference_crnn_ctc.py", "--model_dir", version1, "--image_dir", folder)
    assert code == 0 and predicted(stdout) == names
    code, _, stderr = tool("inference_crnn_ctc.py", "--model_dir", version1, "--image_dir",
                           folder, "--top_paths", "2")  # fmt: skip
    assert code == 1 and "top_paths 1 (asked: 2): export again with those settings" in stderr


def test_resolve_tells_what_a_model_dir_must_be(served, trained32, tmp_path):
    base, _, _ = served
    assert versions.resolve(base) == ("saved_model", os.path.join(base, "2"))
    assert versions.resolve(os.path.join(base, "1")) == ("saved_model", os.path.join(base, "1"))
    assert versions.resolve(trained32.run) == ("checkpoint", trained32.run)
    with pytest.raises(FileNotFoundError, match="not a SavedModel .* or a training folder"):
        versions.resolve(str(tmp_path))
    names, problems = image_files.list_images(served[1])
    assert names == ["cut.png", "notes.jpg", "w0.jpg", "w1.png", "w2.bmp", "w3.gif", "w4.jpg"]
    assert problems == []


# -- stand-in TF Serving ----------------------------------------------------------------------
class StandIn:
    """Runs a SavedModel's serving_default for requests, as TF Serving would."""

    def __init__(self, saved_model_dir):
        self.fn = tf.saved_model.load(saved_model_dir).signatures["serving_default"]

    def __call__(self, images):
        return {k: v.numpy() for k, v in self.fn(image_bytes=tf.constant(images)).items()}


def rest_server(model):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert self.path == "/v1/models/crnn:predict"
            assert body["signature_name"] == "serving_default"
            images = [base64.b64decode(row["image_bytes"]["b64"]) for row in body["instances"]]
            try:
                out = model(images)
            except tf.errors.InvalidArgumentError as err:
                self.reply(400, {"error": err.message})
                return
            # TF Serving's row format: every output of the signature, per image.
            rows = [{"text": t.decode(), "score": float(s), "error": e.decode()}
                    for t, s, e in zip(out["text"], out["score"], out["error"], strict=True)]
            self.reply(200, {"predictions": rows})

        def reply(self, code, obj):
            data = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"127.0.0.1:{server.server_address[1]}"


def grpc_server(model):
    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (the proto's name)
            if request.model_spec.name != "crnn":
                context.abort(grpc.StatusCode.NOT_FOUND, f"no model {request.model_spec.name}")
            try:
                out = model(tf.make_ndarray(request.inputs["image_bytes"]))
            except tf.errors.InvalidArgumentError as err:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, err.message)
            response = predict_pb2.PredictResponse()
            for key, value in out.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


@pytest.mark.parametrize("protocol", ["rest", "grpc"])
def test_serving_client_reads_a_folder_and_isolates_bad_images(served, protocol):
    base, folder, names = served
    model = StandIn(os.path.join(base, "1"))
    server, address = (rest_server if protocol == "rest" else grpc_server)(model)
    try:
        code, stdout, stderr = tool("serving_client.py", "--protocol", protocol, "--server",
                                    address, "--image_dir", folder, "--batch_size", "3")
    finally:
        server.shutdown() if protocol == "rest" else server.stop(None)
    got = {os.path.basename(line.split("\t")[0]): line.split("\t")[1]
           for line in stdout.splitlines()}  # fmt: skip
    assert got == names, stderr[-2000:]
    assert code == 1  # two images failed
    assert "notes.jpg: not an image: not a JPEG, PNG, GIF or BMP file" in stderr
    assert "cut.png: corrupt image" in stderr
