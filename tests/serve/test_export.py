"""Export for TF Serving: the inference graph equals the Keras model, the SavedModel has the
documented signatures, a fresh process reads the words the model learned, bad input gets
per-image errors (one bad image costs only its own row), and the warmup file runs."""

import io
import json
import os
import re
import struct
import subprocess
import sys
import zlib

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from crnn_ctc.data import image_np, image_tf
from crnn_ctc.model import crnn, decoding, trained
from crnn_ctc.model.inference import InferenceCrnn
from crnn_ctc.serve import export, graph, payloads, recognizer
from crnn_ctc.train import config, presets
from tests.conftest import WORDS

TINY = {"filters": (8, 8, 16, 16, 16, 16, 16), "rnn_units": 16}


def randomize_batch_norm(net):
    """Moving statistics far from the initial (0, 1), so folding them is really tested."""
    rng = np.random.default_rng(0)
    for layer in net.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.2, n),
                               rng.normal(0, 0.2, n), rng.uniform(0.3, 2.0, n)])  # fmt: skip


@pytest.mark.parametrize("overrides", [
    {"rnn": "lstm", "rnn_layers": 2},
    {"rnn": "gru", "rnn_layers": 1},
    {"rnn": "lstm", "rnn_layers": 1, "stn": True, "dropout": 0.3},
    {"rnn": "lstm", "rnn_layers": 1, "image_height": 64, "image_width": 128},
])  # fmt: skip
def test_inference_graph_equals_keras_model(overrides):
    cfg = config.override(presets.small(), {**TINY, **overrides})
    net = crnn.build_crnn(cfg, 11)
    randomize_batch_norm(net)
    images = tf.random.stateless_uniform((3, cfg.image_height, cfg.image_width, 3), (1, 2), -1, 1)
    want = net(images, training=False).numpy()
    got = tf.function(InferenceCrnn(net, cfg))(images).numpy()
    assert got.shape == want.shape == (3, cfg.image_width // 4, 11)
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


def test_bf16_cnn_graph_stays_close_to_the_keras_model():
    cfg = config.override(presets.small(), TINY)
    net = crnn.build_crnn(cfg, 11)
    randomize_batch_norm(net)
    images = tf.random.stateless_uniform((3, 32, 100, 3), (1, 2), -1, 1)
    want = net(images, training=False).numpy()
    bf16 = InferenceCrnn(net, cfg, "bfloat16")
    assert {k.dtype for k, _ in bf16.convs} == {tf.bfloat16}
    assert all(r.w.dtype == tf.float32 for pair in bf16.rnns for r in pair)
    got = tf.function(bf16)(images)
    assert got.dtype == tf.float32
    err = np.abs(got.numpy() - want).max() / np.abs(want).max()
    assert 1e-5 < err < 3e-2, err  # rounded (it is bfloat16) but close
    with pytest.raises(ValueError, match="float16"):
        InferenceCrnn(net, cfg, "float16")


def test_bf16_export_reads_the_learned_words(trained32, tmp_path):
    path = export.export(export.ExportConfig(trained32.run, str(tmp_path / "crnn"),
                                             warmup_batch_sizes=(), precision="bf16"))
    assert export.read_metadata(path)["precision"] == "bf16"
    fn = tf.saved_model.load(path).signatures["serving_default"]
    files = word_files(trained32, len(WORDS))
    out = fn(image_bytes=tf.constant([open(p, "rb").read() for p in files]))
    assert [t.decode() for t in out["text"].numpy()] == WORDS
    with pytest.raises(ValueError, match="precision"):
        export.ExportConfig(trained32.run, str(tmp_path / "x"), precision="fp16")


@pytest.fixture(scope="module")
def exported(trained32, tmp_path_factory):
    """Version 1: the defaults (beam 10, one path). Version 2: three paths, 4000-pixel limit."""
    base = str(tmp_path_factory.mktemp("export") / "crnn")
    v1 = export.export(export.ExportConfig(trained32.run, base))
    v2 = export.export(export.ExportConfig(trained32.run, base, decoder=graph.Decoder(
        top_paths=3, max_pixels=4000)))  # fmt: skip
    return base, v1, v2


def word_files(trained32, count=4):
    return [os.path.join(trained32.images, "images", f"{i:03d}.jpg") for i in range(count)]


def test_export_writes_versions_atomically_with_assets(exported, trained32):
    base, v1, v2 = exported
    assert (v1, v2) == (os.path.join(base, "1"), os.path.join(base, "2"))
    assert sorted(os.listdir(base)) == ["1", "2"]  # no staging folder left behind
    for path in ("saved_model.pb", "variables/variables.index", "assets/charset.txt",
                 "assets.extra/tf_serving_warmup_requests", "assets.extra/crnn_ctc.json"):
        assert os.path.isfile(os.path.join(v1, path)), path  # fmt: skip
    _, charset = config.load(trained32.run)
    with open(os.path.join(v1, "assets", "charset.txt"), encoding="utf-8") as f:
        assert f.read().split("\n")[:-1] == list(charset.symbols)
    meta = export.read_metadata(v2)
    assert meta["decoder"] == {"kind": "beam", "beam_width": 10, "top_paths": 3,
                               "max_pixels": 4000, "hard_errors": False,
                               "tall_ratio": 1.25}  # fmt: skip
    assert meta["checkpoint"].startswith(os.path.join(trained32.run, "ckpt"))
    with pytest.raises(FileExistsError, match="choose another --version"):
        export.export(export.ExportConfig(trained32.run, base, version=2))


def show_signatures(saved_model_dir):
    """`saved_model_cli show --all` -> {(signature, "inputs"|"outputs", name): (dtype, shape)}."""
    out = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir",
         saved_model_dir, "--all"], capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    table = {}
    for block in re.split(r"\nsignature_def\['", out)[1:]:
        name = block.split("'", 1)[0]
        for kind, key, dtype, shape in re.findall(
            r"(inputs|outputs)\['(\w+)'\] tensor_info:\s+dtype: (\w+)\s+shape: (\S+)", block
        ):
            table[(name, kind, key)] = (dtype, shape)
    return table


def test_saved_model_cli_shows_the_documented_signatures(exported):
    _, v1, v2 = exported
    one_path = {
        ("serving_default", "inputs", "image_bytes"): ("DT_STRING", "(-1)"),
        ("serving_default", "outputs", "text"): ("DT_STRING", "(-1)"),
        ("serving_default", "outputs", "score"): ("DT_FLOAT", "(-1)"),
        ("serving_default", "outputs", "error"): ("DT_STRING", "(-1)"),
        ("predict_images", "inputs", "images"): ("DT_UINT8", "(-1,"),  # (-1, -1, -1, 3)
        ("predict_images", "outputs", "text"): ("DT_STRING", "(-1)"),
        ("predict_images", "outputs", "score"): ("DT_FLOAT", "(-1)"),
    }  # fmt: skip
    init = "__saved_model_init_op"  # the lookup table's initializer (assets/charset.txt)
    one_path[(init, "outputs", init)] = ("DT_INVALID", "unknown_rank")
    assert show_signatures(v1) == one_path
    three_paths = show_signatures(v2)
    for sig in ("serving_default", "predict_images"):
        assert three_paths.pop((sig, "outputs", "texts")) == ("DT_STRING", "(-1,")  # (-1, 3)
        assert three_paths.pop((sig, "outputs", "scores")) == ("DT_FLOAT", "(-1,")
    assert three_paths == one_path


def test_saved_model_cli_run_reads_the_learned_words(exported, trained32, tmp_path):
    _, v1, _ = exported
    images = [open(p, "rb").read() for p in word_files(trained32, 3)]
    np.save(tmp_path / "in.npy", np.array(images, dtype=object), allow_pickle=True)
    out = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "run", "--dir", v1,
         "--tag_set", "serve", "--signature_def", "serving_default",
         "--inputs", f"image_bytes={tmp_path / 'in.npy'}"],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    texts = re.search(r"Result for output key text:\n\[(.*)\]", out).group(1)
    assert texts == " ".join(repr(w.encode()) for w in WORDS[:3])


FRESH_PROCESS = """
import json, sys
import tensorflow as tf
fn = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
images = [open(p, "rb").read() for p in sys.argv[2:]]
out = fn(image_bytes=tf.constant(images))
print(json.dumps({"text": [t.decode() for t in out["text"].numpy().tolist()],
                  "score": out["score"].numpy().tolist()}))
"""


def variants(path, tmp_path):
    """One word image re-encoded as grey PNG, RGBA PNG, BMP, GIF and a 2x JPEG."""
    im = Image.open(path)
    out = {}
    for name, mode, fmt, scale in [("grey.png", "L", "PNG", 1), ("rgba.png", "RGBA", "PNG", 1),
                                   ("word.bmp", "RGB", "BMP", 1), ("word.gif", "P", "GIF", 1),
                                   ("big.jpg", "RGB", "JPEG", 2)]:  # fmt: skip
        buf = io.BytesIO()
        im.convert(mode).resize((im.width * scale, im.height * scale)).save(buf, fmt)
        out[name] = tmp_path / name
        out[name].write_bytes(buf.getvalue())
    return [str(p) for p in out.values()]


def test_fresh_process_reads_what_the_in_memory_model_reads(exported, trained32, tmp_path):
    """The SavedModel, loaded by a process that imports only TensorFlow, against the Keras
    model from the checkpoint with the same pixel rule and beam search, image by image."""
    _, v1, _ = exported
    paths = word_files(trained32, len(WORDS)) + variants(word_files(trained32, 6)[5], tmp_path)
    run = subprocess.run([sys.executable, "-c", FRESH_PROCESS, v1, *paths], capture_output=True,
                         text=True, timeout=180, env={**os.environ, "PYTHONPATH": ""})  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])

    net, cfg, charset, _ = trained.load_model(trained32.run)
    pixels = [image_tf.resize_tf(image_tf.decode_image_tf(open(p, "rb").read()),
                                   cfg.image_height, cfg.image_width) for p in paths]  # fmt: skip
    logits = net(image_tf.to_model_input(tf.stack(pixels)), training=False)
    ids, scores = decoding.beam_search_decode(logits, charset.blank_id, beam_width=10)
    assert got["text"] == decoding.ids_to_text(ids[:, 0], charset)
    np.testing.assert_allclose(got["score"], scores[:, 0].numpy(), atol=1e-3)
    # The model learned these words: it reads them back from the original files.
    assert got["text"][: len(WORDS)] == WORDS


def png_header(width, height):
    """A PNG signature and IHDR chunk announcing width x height, and no pixel data."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))


def test_a_bad_image_costs_only_its_own_row(exported, trained32):
    """TF Serving batches requests of different clients together: a bad image gets text "",
    score -inf and its reason in "error"; the good images of the batch are read."""
    _, _, v2 = exported  # pixel limit 4000; the word images are 100 x 32 = 3200
    fn = tf.saved_model.load(v2).signatures["serving_default"]
    good = open(word_files(trained32)[0], "rb").read()
    big = io.BytesIO()
    Image.new("RGB", (100, 41)).save(big, "GIF")
    broken = good[:150] + bytes(range(256)) * 4  # a sound header, then garbage: decode fails
    cases = [
        (b"", "empty: 0 bytes"),
        (b"%PDF-1.4 not an image", "not an image: not a JPEG, PNG, GIF or BMP file"),
        (good[:200], "corrupt image"),
        (broken, "corrupt image"),
        # A header promising 10^10 pixels: refused from the header, before any decoding.
        (png_header(100_000, 100_000), "image too large: 100000x100000 pixels"),
        (big.getvalue(), "image too large: 100x41 pixels, the limit is 4000"),
        # A 16 x 16 screen around a 100 x 41 frame: the frame walk refuses it undecoded.
        (big.getvalue()[:6] + struct.pack("<HH", 16, 16) + big.getvalue()[10:],
         "corrupt image: GIF frame 1 (100x41 at 0,0) does not fit its 16x16 screen"),
        (image_np.encode(np.zeros((32, 126, 3), np.uint8), "jpeg"), "too large: 126x32"),
    ]
    for data, message in cases:
        out = fn(image_bytes=tf.constant([good, data, good]))
        assert out["text"].numpy().tolist() == [WORDS[0].encode(), b"", WORDS[0].encode()]
        errors = [e.decode() for e in out["error"].numpy()]
        assert errors[0] == errors[2] == "" and message in errors[1], (message, errors)
        score = out["score"].numpy()
        assert score[1] == -np.inf and np.isfinite(score[[0, 2]]).all()
        assert out["texts"].numpy()[1].tolist() == [b""] * 3  # top paths too
    with pytest.raises(tf.errors.InvalidArgumentError, match="image_bytes is empty"):
        fn(image_bytes=tf.constant([], tf.string))


def test_hard_errors_fail_the_request(trained32):
    rec = recognizer.Recognizer.from_checkpoint(trained32.run,
                                                decoder=graph.Decoder("greedy", hard_errors=True))
    good = open(word_files(trained32)[0], "rb").read()
    with pytest.raises(tf.errors.InvalidArgumentError, match="not an image"):
        rec._fn(tf.constant([good, b"%PDF-1.4"]))
    assert rec.recognize([good])[0].text == WORDS[0]
    # The Recognizer still reads the good one, image by image.
    kept = rec.recognize([good, b"%PDF-1.4x"], on_error="keep")
    assert kept[0].text == WORDS[0] and "not an image" in kept[1].error


def test_warmup_file_holds_prediction_logs_that_run(exported):
    from tensorflow_serving.apis import prediction_log_pb2

    _, v1, _ = exported
    fn = tf.saved_model.load(v1).signatures["serving_default"]
    sizes = []
    path = os.path.join(v1, "assets.extra", export.WARMUP)
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        assert request.model_spec.signature_name == "serving_default"
        images = tf.make_ndarray(request.inputs["image_bytes"])
        out = fn(image_bytes=tf.constant(images))
        sizes.append(out["text"].shape[0])
    assert sizes == [1, 8]


def test_request_builders_follow_tf_serving_formats(exported, trained32):
    from tensorflow.core.framework import types_pb2
    from tensorflow_serving.apis import predict_pb2

    assert payloads.rest_body([b"ab", b"\xff\x00"]) == {
        "signature_name": "serving_default",
        "instances": [{"image_bytes": {"b64": "YWI="}}, {"image_bytes": {"b64": "/wA="}}],
    }
    assert payloads.rest_url("h", 8501, "crnn") == "http://h:8501/v1/models/crnn:predict"
    assert payloads.rest_url("h", 1, "m", 3) == "http://h:1/v1/models/m/versions/3:predict"
    assert payloads.parse_rest({"predictions": [{"text": "cat", "score": -0.5}]}) == [
        {"text": "cat", "score": -0.5}]  # fmt: skip
    with pytest.raises(ValueError, match="TF Serving error: bad image"):
        payloads.parse_rest({"error": "bad image"})

    images = [open(p, "rb").read() for p in word_files(trained32, 2)]
    request = payloads.grpc_request(images, "crnn", version=2)
    wire = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert (wire.model_spec.name, wire.model_spec.signature_name, wire.model_spec.version.value) \
        == ("crnn", "serving_default", 2)  # fmt: skip
    tensor = wire.inputs["image_bytes"]
    assert tensor.dtype == types_pb2.DT_STRING
    assert [d.size for d in tensor.tensor_shape.dim] == [2]
    assert tf.make_ndarray(tensor).tolist() == images

    # The server's side of gRPC: the request's tensor in, a PredictResponse of the outputs back.
    _, _, v2 = exported
    out = tf.saved_model.load(v2).signatures["serving_default"](
        image_bytes=tf.constant(tf.make_ndarray(tensor)))
    response = predict_pb2.PredictResponse()
    for key, value in out.items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
    rows = payloads.parse_grpc(response)
    assert [r["text"] for r in rows] == WORDS[:2]
    assert [r["texts"][0] for r in rows] == WORDS[:2] and all(len(r["texts"]) == 3 for r in rows)
    assert rows[0]["scores"][0] == pytest.approx(rows[0]["score"])
