"""Send images to a model served by TF Serving and print the texts (REST or gRPC).

    python tools/serving_client.py --image_dir crops/                       # REST, :8501
    python tools/serving_client.py --protocol grpc --server localhost:8500 a.jpg b.png

The model is the one tools/export_crnn_ctc.py wrote: serving_default takes image_bytes (raw
encoded images) and answers text and score per image. REST sends {"b64": ...} values in the row
format; gRPC sends a PredictRequest through tensorflow-serving-api's PredictionService.
"""

import json
import os
import urllib.error
import urllib.request

from absl import app, flags, logging

from crnn_ctc import extras
from crnn_ctc.cli import run_tool
from crnn_ctc.data import image_files
from crnn_ctc.serve import payloads

flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "TF Serving API to call")
flags.DEFINE_string("server", None, "host:port (default localhost:8501 for REST, :8500 for gRPC)")
flags.DEFINE_string("model_name", "crnn", "MODEL_NAME the server was started with")
flags.DEFINE_integer("version", 0, "model version (0 = the latest the server has)")
flags.DEFINE_string("signature", payloads.SIGNATURE, "signature name")
flags.DEFINE_string("image_dir", None, "send every image in this folder (plus any files given)")
flags.DEFINE_integer("batch_size", 16, "images per request")
flags.DEFINE_float("timeout", 30.0, "seconds to wait for each response")
FLAGS = flags.FLAGS


def rest_predict(server: str, images: list[bytes]) -> list[dict]:
    host, port = server.rsplit(":", 1)
    url = payloads.rest_url(host, int(port), FLAGS.model_name, FLAGS.version)
    body = json.dumps(payloads.rest_body(images, FLAGS.signature)).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=FLAGS.timeout) as response:
            return payloads.parse_rest(json.load(response))
    except urllib.error.HTTPError as err:  # TF Serving puts the reason in a JSON body
        raise ValueError(f"HTTP {err.code}: {err.read().decode('utf-8', 'replace')}") from err


def grpc_predictor(server: str):
    prediction_service_pb2_grpc = extras.require(
        "tensorflow_serving.apis.prediction_service_pb2_grpc", "serving", "--protocol grpc")
    import grpc  # noqa: PLC0415 (gRPC and its protos load only when asked for)

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server))

    def predict(images: list[bytes]) -> list[dict]:
        request = payloads.grpc_request(images, FLAGS.model_name, FLAGS.signature,
                                           FLAGS.version)  # fmt: skip
        try:
            return payloads.parse_grpc(stub.Predict(request, FLAGS.timeout))
        except grpc.RpcError as err:
            raise ValueError(f"{err.code().name}: {err.details()}") from err

    return predict


def main(argv):
    paths = argv[1:]
    if FLAGS.image_dir:
        names, problems = image_files.list_images(FLAGS.image_dir)
        paths += [os.path.join(FLAGS.image_dir, n) for n in names]
        for problem in problems:
            logging.warning("skipped: %s", problem)
    if not paths:
        raise app.UsageError("give image files or --image_dir")
    default = "localhost:8501" if FLAGS.protocol == "rest" else "localhost:8500"
    server = FLAGS.server or default
    if FLAGS.protocol == "rest":
        predict = lambda images: rest_predict(server, images)  # noqa: E731
    else:
        predict = grpc_predictor(server)
    failed = 0
    for start in range(0, len(paths), FLAGS.batch_size):
        chunk = paths[start:start + FLAGS.batch_size]
        for path, row, error in send(predict, chunk):
            if error:
                logging.error("%s: %s", path, error)
                failed += 1
            else:
                print(f"{path}\t{row['text']}\t{row['score']:.4f}")
    return 1 if failed else 0


def send(predict, paths: list[str]):
    """Yields (path, row, None) or (path, None, error). The model answers a bad image with its
    reason in "error"; a request that fails as a whole (an export with --hard_errors, or from
    before the error output) is retried image by image."""
    images = []
    for path in paths:
        with open(path, "rb") as f:
            images.append(f.read())
    try:
        for p, row in zip(paths, predict(images), strict=True):
            yield (p, None, row["error"]) if row.get("error") else (p, row, None)
        return
    except (ValueError, OSError) as err:
        if len(paths) == 1:
            yield paths[0], None, err
            return
    for path in paths:
        yield from send(predict, [path])


if __name__ == "__main__":
    run_tool(main, __doc__)
