"""The LiteRT/ONNX graph of a keep_aspect (text-line) model: a fixed canvas of the model's width
and each crop's valid width as a second input. The logits on a crop's own steps equal the Keras
model's whatever the padding holds, in TensorFlow and in a LiteRT file resized to another
batch; the contract of such a file names its widths input."""

import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.portable import contract as contract_lib
from crnn_ctc.portable.graph import PortableCrnn
from tests.serve.test_lines_serving import line_model

WIDTHS = [52, 97, 160]


def _inputs(seed: int):
    """3 crops on a 160 px canvas; the padding past each crop's width holds noise."""
    pixels = np.random.default_rng(seed).uniform(0, 255, (3, 32, 160, 3)).astype(np.float32)
    return pixels, np.array(WIDTHS, np.int32)


def _keras(model, pixels, widths):
    return model({"image": tf.constant(pixels / 127.5 - 1.0), "width": tf.constant(widths)},
                 training=False).numpy()  # fmt: skip


def _on_own_steps(got, want, atol):
    for k, w in enumerate(WIDTHS):
        steps = -(-w // 4)
        np.testing.assert_allclose(got[k, :steps], want[k, :steps], atol=atol)


@pytest.mark.parametrize("rnn", ["lstm", "gru"])
def test_the_line_graph_equals_the_keras_model_on_each_crops_steps(rnn):
    model, cfg = line_model(rnn, width=160)
    net = PortableCrnn(model, cfg)
    pixels, widths = _inputs(1)
    got = net(tf.constant(pixels), tf.constant(widths)).numpy()
    _on_own_steps(got, _keras(model, pixels, widths), 1e-5)
    # other padding (another crop's pixels) cannot change a crop's read
    other = pixels.copy()
    for k, w in enumerate(WIDTHS):
        other[k, :, w:] = 255.0 - other[k, :, w:]
    _on_own_steps(net(tf.constant(other), tf.constant(widths)).numpy(), got, 1e-5)
    # the widths matter: read as full-canvas crops, the padding reaches the narrow crops' steps
    full = net(tf.constant(pixels), tf.constant([160, 160, 160], np.int32)).numpy()
    assert np.abs(full[0, :13] - got[0, :13]).max() > 1e-3
    with pytest.raises(ValueError, match="pixels and widths"):
        net(tf.constant(pixels))


def test_a_line_litert_file_resized_to_another_batch_keeps_the_logits(tmp_path):
    from crnn_ctc.portable import export, runtime

    model, cfg = line_model("lstm", width=160)
    net = PortableCrnn(model, cfg)
    it = runtime.litert_interpreter()(model_content=export._tflite(net, "fp32", None))
    pixels_in, widths_in = runtime.split_inputs(it.get_input_details())
    assert widths_in is not None and tuple(widths_in["shape"]) == (1,)
    pixels, widths = _inputs(2)
    it.resize_tensor_input(pixels_in["index"], list(pixels.shape))
    it.resize_tensor_input(widths_in["index"], [3])
    it.allocate_tensors()  # a reshape to the traced batch (1) would fail here
    it.set_tensor(pixels_in["index"], pixels)
    it.set_tensor(widths_in["index"], widths)
    it.invoke()
    _on_own_steps(it.get_tensor(it.get_output_details()[0]["index"]), _keras(model, pixels, widths),
                  1e-4)


def test_a_line_contract_names_its_widths_and_decodes_only_valid_steps():
    base = dict(format="tflite", variant="fp32", model_file="crnn_fp32.tflite",
                input_name="pixels", input_dtype="float32", input_quantization=(0.0, 0),
                image_size=(32, 160), output_name="logits", output_dtype="float32",
                output_quantization=(0.0, 0), time_steps=40, symbols=("a", "b"), blank_id=2)
    line = contract_lib.Contract(**base, resize="keep_aspect", widths_name="widths")
    data = line.to_json()
    assert data["widths"]["dtype"] == "int32" and data["input"]["resize_rule"] == "keep_aspect"
    assert "keeping the aspect" in data["input"]["resize"]
    assert contract_lib.Contract.from_json(data) == line
    assert line.valid_steps([1, 4, 5, 160]) == [1, 1, 2, 40]
    assert "min_width" not in data["input"]  # files without a minimum read as before
    short = contract_lib.Contract(**base, resize="keep_aspect", widths_name="widths",
                                  min_width=64)
    assert short.to_json()["input"]["min_width"] == 64
    assert contract_lib.Contract.from_json(short.to_json()) == short
    # a reader of such a file widens a short crop to the minimum, a long one not
    from types import SimpleNamespace

    from crnn_ctc.portable.recognizer import PortableRecognizer

    reader = PortableRecognizer(SimpleNamespace(contract=short, path="x.tflite"))
    narrow, wide = np.zeros((32, 40, 3), np.uint8), np.zeros((16, 60, 3), np.uint8)
    assert [v.shape for v in reader._image(narrow) + reader._image(wide)] == [
        (32, 64, 3), (32, 120, 3)]
    words = contract_lib.Contract(**base)  # a file written before lines: stretch, no widths
    old = words.to_json()
    del old["input"]["resize_rule"]
    assert contract_lib.Contract.from_json(old) == words and "widths" not in old
    with pytest.raises(ValueError, match="names its widths input"):
        contract_lib.Contract(**base, resize="keep_aspect")
    with pytest.raises(ValueError, match="contract resize"):
        contract_lib.Contract(**base, resize="crop")
