"""LiteRT / ONNX exports (crnn_ctc.portable): the graph equals the Keras model, every file reads
what the SavedModel reads, the contract round-trips, bad inputs are clear errors, and reading
needs no TensorFlow."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from crnn_ctc.model.decoder import Decoder
from crnn_ctc.portable import contract as contract_lib
from crnn_ctc.portable import ctc
from tests.conftest import ROOT, read_from_threads, run_tool, word_image, write_file

# the shipped version 2 (a 32 x 100 stretch model, 0-9a-z) and its SavedModel: the fixed-size
# path of every format; keep_aspect files are tests/train/test_lines.py's and
# tests/serve/test_pretrained.py's (version 3)
MODEL = os.path.join(ROOT, "models", "crnn_en", "v2")
SAVED = os.path.join(ROOT, "models", "crnn_en", "2")
TEST_DATA = os.path.join(ROOT, "test_data")
VARIANTS = [("tflite", "fp32"), ("tflite", "fp16"), ("tflite", "dynamic"), ("tflite", "int8"),
            ("onnx", "fp32")]
# int8 and dynamic-range files may read a word differently from the float model: at least this
# share of the texts must agree (on the shipped model all 283 rendered words and test_data did)
QUANTIZED_AGREEMENT = 0.95


def _test_data_files():
    with open(os.path.join(TEST_DATA, "image_list.txt"), encoding="utf-8") as f:
        return [os.path.join(TEST_DATA, line.split()[0]) for line in f if line.strip()]


@pytest.fixture(scope="module")
def rendered():
    """60 words drawn by the generator's clean style with the default font pool (seeded)."""
    from crnn_ctc.synth import fonts, render, text

    pool, _ = fonts.discover(None, "0123456789abcdefghijklmnopqrstuvwxyz")
    rng = np.random.default_rng(0)
    words = [w for w in text.load_words(text.DEFAULT_WORDS) if w.isalnum() and 3 <= len(w) <= 10]
    images = []
    while len(images) < 60:
        word, font = words[int(rng.integers(len(words)))], pool[int(rng.integers(len(pool)))]
        if font.covers(word):
            try:
                images.append(render.render(word, font, rng, render.STYLES["clean"]))
            except ValueError:
                continue
    return images


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The shipped model in every format and variant; int8 calibrated on rendered words in a
    folder (never on test_data, which the parity tests read)."""
    from crnn_ctc.portable import export

    root = tmp_path_factory.mktemp("portable")
    lines = []
    for i, word in enumerate(["street", "PARIS", "exit", "42", "Total", "hotel", "OPEN", "cafe"]):
        write_file(root / "calib" / f"{i}.png", word_image(word, fmt="PNG", font_size=22))
        lines.append(f"{i}.png {word}\n")
    (root / "calib" / "list.txt").write_text("".join(lines))
    out = str(root / "out")
    paths = export.export_portable(export.PortableConfig(
        MODEL, out, "tflite", ("fp32", "fp16", "dynamic", "int8"),
        calibration_data=str(root / "calib"), calibration_list=str(root / "calib" / "list.txt")))
    paths += export.export_portable(export.PortableConfig(MODEL, out, "onnx", ("fp32",)))
    return {(os.path.splitext(p)[1][1:], os.path.basename(p).split("_")[1].split(".")[0]): p
            for p in paths}  # fmt: skip


@pytest.fixture(scope="module")
def reference(rendered):
    """The serving graph's greedy texts (the SavedModel's graph, from the same checkpoint)."""
    from crnn_ctc.serve.recognizer import Recognizer

    rec = Recognizer.from_checkpoint(MODEL, decoder=Decoder("greedy", 1))
    return [p.text for p in rec.recognize(_test_data_files() + rendered)]


def test_graph_equals_the_keras_model_for_lstm_and_gru():
    import tensorflow as tf

    from crnn_ctc.model import crnn
    from crnn_ctc.model.config import ModelConfig
    from crnn_ctc.portable.graph import PortableCrnn

    x = np.random.default_rng(0).uniform(0, 255, (3, 32, 100, 3)).astype(np.float32)
    for rnn in ("lstm", "gru"):
        cfg = ModelConfig(filters=(8, 8, 16, 16, 16, 16, 16), rnn=rnn, rnn_units=12)
        model = crnn.build_crnn(cfg, 11)
        for k, w in enumerate(model.weights):  # zero-mean weights (the gates are not
            # saturated, so a wrong gate order or direction shows), positive variances
            rng = np.random.default_rng(k)
            positive = "variance" in w.path or "gamma" in w.path
            w.assign(rng.uniform(0.5, 1.5, w.shape) if positive else rng.normal(0, 0.4, w.shape))
        keras = model(x * (2 / 255) - 1, training=False).numpy()
        ours = PortableCrnn(model, cfg)(tf.constant(x)).numpy()  # logits, as the Keras model's
        assert ours.shape == (3, 25, 11)
        # twice uniform (1/11): the comparison has something to see
        assert tf.nn.softmax(keras).numpy().max() > 0.2
        np.testing.assert_allclose(ours, keras, atol=1e-4)
        np.testing.assert_allclose(ctc.log_softmax(ours), tf.nn.log_softmax(keras), atol=1e-4)
    with pytest.raises(ValueError, match="spatial transformer"):
        stn = ModelConfig(filters=(8,) * 7, rnn_units=8, stn=True)
        PortableCrnn(crnn.build_crnn(stn, 5), stn)


@pytest.mark.parametrize("fmt,variant", VARIANTS, ids=lambda v: v)
def test_each_file_reads_what_the_saved_model_reads(exported, rendered, reference, fmt, variant):
    from crnn_ctc.portable.recognizer import PortableRecognizer

    rec = PortableRecognizer.load(exported[fmt, variant], Decoder("greedy", 1))
    texts = [p.text for p in rec.recognize(_test_data_files() + rendered, batch_size=16)]
    same = np.mean([a == b for a, b in zip(texts, reference, strict=True)])
    if variant in ("fp32", "fp16"):
        assert same == 1.0, [(a, b) for a, b in zip(texts, reference, strict=True) if a != b]
    else:
        assert same >= QUANTIZED_AGREEMENT
    contract = contract_lib.load_contract(exported[fmt, variant])
    assert (contract.format, contract.variant, contract.image_size) == (fmt, variant, (32, 100))
    assert "".join(contract.symbols) == "0123456789abcdefghijklmnopqrstuvwxyz"
    assert contract.blank_id == 36
    if variant == "int8":  # full integer: the pixels go in as they are
        assert (contract.input_dtype, contract.input_quantization) == ("uint8", (1.0, 0))
        # int8 weights: about a third of the fp32 file (the 1.5 MB target is BENCHMARKS.md's)
        assert os.path.getsize(exported[fmt, variant]) < 0.4 * os.path.getsize(
            exported["tflite", "fp32"])


@pytest.mark.parametrize("fmt, variant, sharing", [("tflite", "fp32", "pool"),
                                                   ("tflite", "int8", "pool"),
                                                   ("tflite", "int8", "lock"),
                                                   ("onnx", "fp32", "pool")])
def test_one_recognizer_shared_by_threads_reads_what_one_thread_reads(exported, rendered, fmt,
                                                                      variant, sharing):
    """Four threads call recognize on one recognizer at once, with batch sizes that resize the
    interpreter between calls; every text and score must be the one-thread answer."""
    from crnn_ctc.portable.recognizer import PortableRecognizer

    rec = PortableRecognizer.load(exported[fmt, variant], Decoder("greedy", 1), sharing=sharing)
    items = _test_data_files() + rendered[:20]
    want = [(p.text, p.score) for p in rec.recognize(items, batch_size=1)]
    got = read_from_threads(rec, items)
    assert {i: s for i, s in got.items() if s != {want[i]}} == {}
    if fmt == "tflite":  # a pool never holds more interpreters than calls ran at once
        backend = rec.model._backend
        assert backend.interpreters == 1 if sharing == "lock" else 1 <= backend.interpreters <= 4


def test_beam_search_reads_what_the_saved_model_reads(exported):
    from crnn_ctc.portable.recognizer import PortableRecognizer
    from crnn_ctc.serve.recognizer import Recognizer

    files = _test_data_files()
    saved = Recognizer.load(SAVED)  # exported with beam 10
    assert saved.decoder == Decoder("beam", 10)
    want = saved.recognize(files)
    got = PortableRecognizer.load(exported["onnx", "fp32"], saved.decoder).recognize(files)
    assert [p.text for p in got] == [p.text for p in want]
    np.testing.assert_allclose([p.score for p in got], [p.score for p in want], atol=1e-3)
    # the Python Recognizer and the inference tool take the files too
    assert Recognizer.load(exported["tflite", "fp32"]).recognize(files[:2])[0].text == want[0].text


def test_int8_scores_are_the_float_files_scores(exported):
    """The int8 file ends at its logits, so beam search and top-k see every class: the best and
    second-best paths' scores stay near the fp32 file's (an int8 softmax output, 1/256 steps,
    was off by a median ~31 nats on the second path and capped a perfect read at -0.098)."""
    from crnn_ctc.data import image_np
    from crnn_ctc.portable import runtime
    from crnn_ctc.portable.recognizer import PortableRecognizer

    files, decoder = _test_data_files(), Decoder("beam", 10, 2)
    fp32, int8 = (PortableRecognizer.load(exported["tflite", v], decoder).recognize(files)
                  for v in ("fp32", "int8"))  # fmt: skip
    gaps = np.array([[abs(a.top_k[k][1] - b.top_k[k][1]) for k in (0, 1)]
                     for a, b in zip(fp32, int8, strict=True)])  # fmt: skip
    assert np.median(gaps[:, 1]) < 3.0, gaps[:, 1]
    assert np.median(gaps[:, 0]) < 1.0, gaps[:, 0]
    assert max(p.score for p in int8) > -0.05  # a confident read scores near 0, as in fp32
    contract = contract_lib.load_contract(exported["tflite", "int8"])
    assert contract.output_kind == "logits" and contract.output_dtype == "uint8"
    # every class keeps a finite log-probability: no exact zeros for the beam to skip
    model = runtime.PortableModel.load(exported["tflite", "int8"])
    with open(files[0], "rb") as f:
        pixels = image_np.resize(image_np.load_rgb(f.read()), 32, 100)[None]
    logp = model.log_probabilities(pixels)
    assert np.isfinite(logp).all() and logp.min() > -200
    np.testing.assert_allclose(np.exp(logp).sum(-1), 1.0, atol=1e-9)


def test_files_without_an_output_kind_are_read_as_probabilities(exported, monkeypatch):
    """A file exported before the contract named its output kind ends at a softmax: its
    contract (no "kind") says so, and the reader takes the log of what it returns."""
    from crnn_ctc.portable import runtime

    path = exported["tflite", "fp32"]
    with open(contract_lib.contract_path(path), encoding="utf-8") as f:
        data = json.load(f)
    assert data["output"]["kind"] == "logits"
    del data["output"]["kind"]
    old = contract_lib.Contract.from_json(data)
    assert old.output_kind == "probabilities"
    with pytest.raises(ValueError, match="output kind 'scores'"):
        dataclasses.replace(old, output_kind="scores")
    x = np.random.default_rng(0).integers(0, 256, (2, 32, 100, 3), dtype=np.uint8)
    new = runtime.PortableModel(path, contract_lib.load_contract(path))
    want = new.log_probabilities(x)
    model = runtime.PortableModel(path, old)
    softmax = np.exp(want).astype(np.float32)  # what an older file returned
    monkeypatch.setattr(model, "output", lambda images, widths=None: softmax)
    np.testing.assert_allclose(model.log_probabilities(x), want, atol=1e-5)


def test_numpy_decoders_match_tensorflow_and_the_exact_sum():
    import itertools

    import tensorflow as tf

    from crnn_ctc.model import decoding

    rng = np.random.default_rng(0)
    logits = (rng.normal(0, 1, (40, 25, 6)) * 4).astype(np.float32)  # peaked, as trained models
    logp = ctc.log_softmax(logits)  # what a file's logits give the decoder
    np.testing.assert_allclose(logp, ctc.log_probs(tf.nn.softmax(logits).numpy()), atol=1e-5)
    ids, scores = decoding.decode(tf.constant(logits), 5, 0, 1)
    for row, (got_ids, got_score) in enumerate(p[0] for p in ctc.decode(logp, 5, Decoder(
            "greedy", 1))):  # fmt: skip
        assert got_ids == [int(i) for i in ids[row, 0].numpy() if i >= 0]
        assert got_score == pytest.approx(float(scores[row, 0]), abs=1e-3)
    ids, scores = decoding.decode(tf.constant(logits), 5, 10, 1)
    ours = ctc.decode(logp, 5, Decoder("beam", 10))
    agree = [ours[r][0][0] == [int(i) for i in ids[r, 0].numpy() if i >= 0] for r in range(40)]
    assert np.mean(agree) >= 0.95
    # a beam wide enough for every prefix is the exact CTC probability of the best labelling
    lp = np.log(tf.nn.softmax(rng.normal(0, 2, (5, 3))).numpy().astype(np.float64))
    exact = {}
    for path in itertools.product(range(3), repeat=5):
        text = tuple(k for j, k in enumerate(path) if k != 2 and (j == 0 or path[j - 1] != k))
        exact[text] = np.logaddexp(exact.get(text, -np.inf), lp[np.arange(5), path].sum())
    best, score = ctc.beam_search(lp, 2, beam_width=100)[0]
    assert tuple(best) == max(exact, key=exact.get)
    assert score == pytest.approx(max(exact.values()), abs=1e-9)
    top = ctc.beam_search(lp, 2, beam_width=100, top_paths=3)
    want = sorted(exact.items(), key=lambda kv: -kv[1])[:3]
    assert [tuple(ids) for ids, _ in top] == [text for text, _ in want]
    np.testing.assert_allclose([s for _, s in top], [s for _, s in want], atol=1e-9)
    # a beam of 1 is greedy decoding, as in model/decoding.py
    one = ctc.decode(logp[:3], 5, Decoder("beam", 1))
    assert one == ctc.decode(logp[:3], 5, Decoder("greedy", 1))


def test_contract_round_trips_and_bad_contracts_are_named(exported, tmp_path):
    path = exported["tflite", "int8"]
    contract = contract_lib.load_contract(path)
    assert contract_lib.Contract.from_json(contract.to_json()) == contract
    with open(contract_lib.contract_path(path), encoding="utf-8") as f:
        data = json.load(f)
    assert data["input"]["shape"] == [None, 32, 100, 3] and "area" in data["input"]["resize"]
    assert data["source"]["calibration"]["images"] == 8
    copy = tmp_path / "other.tflite"
    copy.write_bytes(open(path, "rb").read())
    with pytest.raises(FileNotFoundError, match="contract"):
        contract_lib.load_contract(str(copy))
    (tmp_path / "other.tflite.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match="describes crnn_int8.tflite"):
        contract_lib.load_contract(str(copy))
    (tmp_path / "other.tflite.json").write_text(json.dumps({**data, "contract_version": 9}))
    with pytest.raises(ValueError, match="contract_version 9"):
        contract_lib.load_contract(str(copy))
    (tmp_path / "other.tflite.json").write_text("{")
    with pytest.raises(ValueError, match="not JSON"):
        contract_lib.load_contract(str(copy))


def test_wrong_inputs_are_clear_errors(exported, monkeypatch):
    from crnn_ctc.portable import runtime
    from crnn_ctc.portable.recognizer import PortableRecognizer

    model = runtime.PortableModel.load(exported["tflite", "int8"])
    with pytest.raises(ValueError, match=r"\(batch, 32, 100, 3\)"):
        model.probabilities(np.zeros((1, 32, 128, 3), np.uint8))
    with pytest.raises(ValueError, match="dtype float32"):
        model.probabilities(np.zeros((1, 32, 100, 3), np.float32))
    assert model.probabilities(np.zeros((3, 32, 100, 3), np.uint8)).shape == (3, 25, 37)
    rec = PortableRecognizer(model, Decoder("greedy", 1))
    preds = rec.recognize([b"not an image", np.zeros((4, 4), np.float64),
                           _test_data_files()[0]], on_error="keep")  # fmt: skip
    assert "not an image" in preds[0].error and "dtype float64" in preds[1].error
    assert preds[2].error is None and preds[2].text
    with pytest.raises(ValueError, match="not a .tflite or .onnx"):
        runtime.PortableModel.load(os.path.join(MODEL, "config.json"))
    # a contract that is not the file's own (here: another quantization) is refused
    stale = contract_lib.load_contract(exported["tflite", "int8"])
    stale = dataclasses.replace(stale, input_quantization=(0.5, 3))
    with pytest.raises(ValueError, match="do not belong together: .*input_quantization"):
        runtime.PortableModel(exported["tflite", "int8"], stale)
    real = runtime.importlib.import_module

    def missing(name):
        if name in ("ai_edge_litert.interpreter", "tflite_runtime.interpreter"):
            raise ModuleNotFoundError(name=name)
        return real(name)

    monkeypatch.setattr(runtime.importlib, "import_module", missing)
    with pytest.raises(ModuleNotFoundError, match=r"crnn_ctc\[litert\]"):
        runtime.PortableModel.load(exported["tflite", "fp32"])


def test_export_refuses_bad_settings_and_existing_files(exported):
    from crnn_ctc.portable import export

    with pytest.raises(ValueError, match="calibration_data"):
        export.PortableConfig(MODEL, "x", "tflite", ("int8",))
    with pytest.raises(ValueError, match="onnx variants int8"):
        export.PortableConfig(MODEL, "x", "onnx", ("int8",))
    with pytest.raises(ValueError, match="format"):
        export.PortableConfig(MODEL, "x", "coreml")
    out = os.path.dirname(exported["tflite", "fp32"])
    with pytest.raises(FileExistsError, match="crnn_fp32.tflite"):
        export.export_portable(export.PortableConfig(MODEL, out, "tflite", ("fp32",)))


def test_tools_read_the_files_without_tensorflow(exported, tmp_path):
    """A device user has ai-edge-litert or onnxruntime, not TensorFlow: the Python API and the
    inference tool run with TensorFlow made unimportable."""
    block = "import sys; sys.modules['tensorflow'] = None; "
    code = block + ("import crnn_ctc; r = crnn_ctc.PortableRecognizer.load(sys.argv[1]); "
                    "print(r.recognize([sys.argv[2]])[0].text)")
    first = _test_data_files()[0]
    for key in (("tflite", "int8"), ("onnx", "fp32")):
        out = subprocess.run([sys.executable, "-c", code, exported[key], first],
                             capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.strip() == "hello"
    tool = os.path.join(ROOT, "tools", "inference_crnn_ctc.py")
    rows = tmp_path / "rows.jsonl"
    code = block + (f"import runpy; sys.argv = sys.argv[:1] + sys.argv[2:]; "
                    f"runpy.run_path({tool!r}, run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", code, "x", "--model_dir",
                          exported["tflite", "fp16"], "--image_dir", TEST_DATA, "--image_list",
                          os.path.join(TEST_DATA, "image_list.txt"), "--output_file", str(rows)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Predict images/000_Hello.jpg image as: hello" in out.stdout
    assert len(rows.read_text().splitlines()) == 30


def test_export_tool_writes_tflite_and_refuses_bad_flags(tmp_path):
    out = run_tool("export_crnn_ctc.py", "--model_dir", MODEL, "--export_dir", str(tmp_path),
                   "--format", "tflite", "--variants", "dynamic")
    assert out.returncode == 0, out.stderr[-2000:]
    assert os.path.isfile(tmp_path / "crnn_dynamic.tflite")
    assert os.path.isfile(tmp_path / "crnn_dynamic.tflite.json")
    bad = run_tool("export_crnn_ctc.py", "--model_dir", MODEL, "--export_dir", str(tmp_path),
                   "--format", "tflite", "--variants", "int8")
    assert bad.returncode != 0 and "calibration_data" in bad.stderr
    # a flag of the other kind of export would be ignored: refused instead
    bad = run_tool("export_crnn_ctc.py", "--model_dir", MODEL, "--export_dir", str(tmp_path),
                   "--format", "onnx", "--decoder", "greedy")
    assert bad.returncode != 0 and "--decoder do not apply to --format onnx" in bad.stderr
    bad = run_tool("export_crnn_ctc.py", "--model_dir", MODEL, "--export_dir", str(tmp_path),
                   "--variants", "int8")
    assert bad.returncode != 0 and "--variants do not apply to --format savedmodel" in bad.stderr
