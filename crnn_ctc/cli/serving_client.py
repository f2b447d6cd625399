"""Send images to a model served by TF Serving and print the texts (REST or gRPC).

    python tools/serving_client.py --image_dir crops/                       # REST, :8501
    python tools/serving_client.py --protocol grpc --server localhost:8500 a.jpg b.png

The model is the one tools/export_crnn_ctc.py wrote: serving_default takes image_bytes (raw
encoded images) and answers text and score per image. REST sends {"b64": ...} values in the row
format; gRPC sends a PredictRequest through tensorflow-serving-api's PredictionService. A
request the model refuses as a whole is sent again image by image; one the server is too busy
for is tried again (--attempts, --backoff), then the tool stops with the server's reason and
exit code 2 (crnn_ctc/serve/client.py has the rules).
"""

import os

from absl import app, flags, logging

from crnn_ctc.cli import run_tool
from crnn_ctc.data import image_files
from crnn_ctc.serve import client, payloads

flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "TF Serving API to call")
flags.DEFINE_string("server", None, "host:port (default localhost:8501 for REST, :8500 for gRPC)")
flags.DEFINE_string("model_name", "crnn", "MODEL_NAME the server was started with")
flags.DEFINE_integer("version", 0, "model version (0 = the latest the server has)")
flags.DEFINE_string("signature", payloads.SIGNATURE, "signature name")
flags.DEFINE_string("image_dir", None, "send every image in this folder (plus any files given)")
flags.DEFINE_integer("batch_size", 16, "images per request")
flags.DEFINE_float("timeout", 30.0, "seconds to wait for each response")
flags.DEFINE_integer("attempts", 3, "tries of a request in all while the server is unavailable "
                     "(UNAVAILABLE, DEADLINE_EXCEEDED, HTTP 5xx, timeouts)")
flags.DEFINE_float("backoff", 0.5, "seconds before the second try, doubled before each later one")
FLAGS = flags.FLAGS


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
    make = client.rest_predictor if FLAGS.protocol == "rest" else client.grpc_predictor
    predict = make(server, FLAGS.model_name, FLAGS.version, FLAGS.signature, FLAGS.timeout)
    retry = client.Retry(FLAGS.attempts, FLAGS.backoff)
    failed = 0
    for start in range(0, len(paths), FLAGS.batch_size):
        chunk = paths[start:start + FLAGS.batch_size]
        try:
            answers = list(client.send(predict, chunk, retry))
        except client.ServingError as err:  # the images before this batch were printed
            logging.error("%s: %s (%d images not read)", server, err, len(paths) - start)
            return 2
        for path, row, error in answers:
            if error:
                logging.error("%s: %s", path, error)
                failed += 1
            else:
                print(f"{path}\t{row['text']}\t{row['score']:.4f}")
    return 1 if failed else 0


if __name__ == "__main__":
    run_tool(main, __doc__)
