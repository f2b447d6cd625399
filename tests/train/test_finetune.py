"""Fine-tuning: --init_from copies a trained model's weights into a new run."""

import glob
import json
import os

import numpy as np
import pytest

from tests.conftest import WORDS, convert_words, run_tool


def test_output_rows_pair_shared_symbols_and_the_blank():
    from crnn_ctc.data.charset import Charset
    from crnn_ctc.train import finetune

    old, new = Charset(list("abc")), Charset(list("xcab"))
    # new ids: x=0 c=1 a=2 b=3 blank=4; old: a=0 b=1 c=2 blank=3
    assert finetune.output_rows(old, new) == [(1, 2), (2, 0), (3, 1), (4, 3)]


def _weights(model, name):
    return [np.array(w) for w in model.get_layer(name).get_weights()]


def test_initialize_copies_every_layer_and_maps_the_output_rows(trained32):
    from crnn_ctc.data.charset import Charset
    from crnn_ctc.model import crnn as model_lib
    from crnn_ctc.model import trained
    from crnn_ctc.train import config, finetune

    src, cfg, charset, _ = trained.load_model(trained32.run)
    extra = "\u00e9"  # a symbol the source never saw
    new_charset = Charset([extra, *reversed(charset.symbols)])
    model = model_lib.build_crnn(cfg, new_charset.num_classes)
    fresh_kernel = _weights(model, "logits")[0].copy()
    summary = finetune.initialize(model, cfg, new_charset, trained32.run)

    assert summary["kept_classes"] == charset.num_classes and summary["new_symbols"] == extra
    for layer in model.layers:
        if layer.weights and layer.name != "logits":
            for a, b in zip(_weights(model, layer.name), _weights(src, layer.name), strict=True):
                np.testing.assert_array_equal(a, b)
    kernel, bias = _weights(model, "logits")
    src_kernel, src_bias = _weights(src, "logits")
    for sym in charset.symbols:
        new_id, old_id = new_charset.symbols.index(sym), charset.symbols.index(sym)
        np.testing.assert_array_equal(kernel[:, new_id], src_kernel[:, old_id])
        assert bias[new_id] == src_bias[old_id]
    np.testing.assert_array_equal(kernel[:, new_charset.blank_id], src_kernel[:, charset.blank_id])
    np.testing.assert_array_equal(kernel[:, 0], fresh_kernel[:, 0])  # the new symbol: fresh

    # Same charset: the copy reads exactly what the source reads.
    same = model_lib.build_crnn(cfg, charset.num_classes)
    finetune.initialize(same, cfg, charset, trained32.run)
    images = np.random.default_rng(0).integers(0, 255, (2, 32, 100, 3)).astype("float32")
    np.testing.assert_allclose(same(images), src(images), rtol=1e-5, atol=1e-5)
    # A keep_aspect run (its own resize rule and width) starts from the stretch model: on a
    # 100 px wide image it reads what the source reads.
    wide = config.override(cfg, {"resize": "keep_aspect", "image_width": 400})
    lines = model_lib.build_crnn(wide, charset.num_classes)
    finetune.initialize(lines, wide, charset, trained32.run)
    read = lines({"image": images, "width": np.array([100, 100], "int32")})
    np.testing.assert_allclose(read, src(images), rtol=1e-5, atol=1e-5)

    other = config.override(cfg, {"rnn_units": cfg.rnn_units * 2})
    with pytest.raises(ValueError, match="different model"):
        finetune.initialize(model_lib.build_crnn(other, charset.num_classes), other, charset,
                            trained32.run)


def test_train_tool_init_from_starts_from_the_weights(trained32, tmp_path):
    data = convert_words(tmp_path / "words", WORDS[:16], validation=0.5)
    run = str(tmp_path / "run")
    args = ["--data_dir", data, "--model_dir", run, "--preset", "small", "--max_train_steps",
            "2", "--eval_every", "2", "--learning_rate", "1e-9", "--warmup_steps", "0"]
    proc = run_tool("train_crnn_ctc.py", *args, "--init_from", trained32.run)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(os.path.join(run, "init_from.json"), encoding="utf-8") as f:
        init = json.load(f)
    assert init["init_from"] == trained32.run and "ckpt-" in init["checkpoint"]
    # A learning rate of 1e-9 leaves the trained weights as they were: the 16 training words
    # (all seen by the source) read back as well as the source reads them.
    best = json.load(open(os.path.join(run, "best", "best.json"), encoding="utf-8"))
    assert best["word_accuracy"] >= 0.9, best

    missing = run_tool("train_crnn_ctc.py", *args[:2], "--model_dir", str(tmp_path / "r2"),
                       "--init_from", str(tmp_path / "nothing"))
    assert missing.returncode == 1 and "not a training folder" in missing.stderr


def test_export_with_weights_makes_a_serving_and_training_folder(trained32, tmp_path):
    from crnn_ctc.model import trained
    from crnn_ctc.serve import versions

    out = tmp_path / "crnn_en"
    proc = run_tool("export_crnn_ctc.py", "--model_dir", trained32.run, "--export_dir",
                    str(out), "--with_weights")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "1" / "saved_model.pb").is_file() and (out / "config.json").is_file()
    assert versions.resolve(str(out))[0] != "checkpoint"  # inference serves the SavedModel
    src, _, _, _ = trained.load_model(trained32.run)
    copy, _, _, path = trained.load_model(str(out))  # eval / --init_from read the weights
    assert os.path.basename(path).startswith("best-")
    for a, b in zip(copy.weights, src.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # model only: no optimizer slots, so smaller than the training checkpoint
    size = sum(f.stat().st_size for f in (out / "best").glob("best-*"))
    src_size = sum(os.path.getsize(p) for p in
                   glob.glob(os.path.join(trained32.run, "ckpt", "ckpt-200.*")))
    assert 0 < size < src_size / 2
