"""--mixed_precision: what auto picks from the devices and CPU flags, and that a forced policy is
the one the model computes in, with float32 variables, optimizer slots, logits and loss."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.model import crnn
from crnn_ctc.train import config, loop, optimizer, presets, strategy
from tests.conftest import WORDS, convert_words

ZEN4 = frozenset("fpu sse avx2 fma avx512f avx512bw avx512_bf16 avx512vl".split())
SAPPHIRE = frozenset("fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8".split())
ZEN3 = frozenset("fpu sse avx avx2 fma f16c".split())


@pytest.mark.parametrize("setting,gpus,flags,onednn,policy", [
    ("auto", 1, ZEN3, True, "mixed_float16"),
    ("auto", 0, ZEN4, True, "mixed_bfloat16"),
    ("auto", 0, SAPPHIRE, True, "mixed_bfloat16"),
    ("auto", 0, ZEN3, True, "float32"),
    ("auto", 0, frozenset(), True, "float32"),  # no /proc/cpuinfo (macOS, Windows)
    ("auto", 0, ZEN4, False, "float32"),  # TF_ENABLE_ONEDNN_OPTS=0
    ("bf16", 0, ZEN3, True, "mixed_bfloat16"),  # forced, even where it is emulated
    ("fp16", 0, ZEN4, True, "mixed_float16"),
    ("on", 0, ZEN4, True, "mixed_float16"),  # the old name of fp16
    ("off", 1, SAPPHIRE, True, "float32"),
])  # fmt: skip
def test_auto_and_forced_choices(setting, gpus, flags, onednn, policy):
    chosen = strategy.choose_precision(setting, gpus, flags, onednn)
    assert chosen.policy == policy
    assert chosen.loss_scaling == (policy == "mixed_float16")
    assert chosen.reason  # said in the log


def test_the_reason_names_what_decided():
    assert "avx512_bf16" in strategy.choose_precision("auto", 0, ZEN4).reason
    assert "amx_bf16" in strategy.choose_precision("auto", 0, SAPPHIRE).reason
    assert "GPU" in strategy.choose_precision("auto", 2, ZEN4).reason
    assert "TF_ENABLE_ONEDNN_OPTS" in strategy.choose_precision("auto", 0, ZEN4, False).reason


def test_an_unknown_setting_is_an_error():
    with pytest.raises(ValueError, match="bf17"):
        strategy.choose_precision("bf17", 0, ZEN4)
    with pytest.raises(ValueError, match="mixed_precision"):
        config.override(presets.small(), {"mixed_precision": "bf17"})


def test_cpu_flags_read_the_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_bf16\n\n"
                    "processor\t: 1\nflags\t\t: fpu avx2 avx512_bf16\n")
    assert strategy.cpu_flags(str(info)) == {"fpu", "avx2", "avx512_bf16"}
    assert strategy.cpu_flags(str(tmp_path / "missing")) == frozenset()


def test_old_config_json_on_reads_as_fp16():
    cfg, charset = config.from_dict({"config": {"mixed_precision": "on"},
                                     "charset": {"symbols": ["a", "b"]}})
    assert cfg.mixed_precision == "fp16" and charset.num_classes == 3


@pytest.fixture
def restore_policy():
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("setting,compute", [("bf16", "bfloat16"), ("fp16", "float16"),
                                             ("off", "float32")])
def test_a_forced_policy_is_used_and_logits_loss_and_slots_stay_float32(
        setting, compute, restore_policy, monkeypatch):
    cfg = config.override(presets.small(), {"mixed_precision": setting, "batch_size": 4})
    logged = []  # absl's handler may own the log records once a tool has run in this process
    monkeypatch.setattr(strategy.logging, "info", lambda msg, *a: logged.append(msg % a))
    chosen = strategy.set_precision(cfg)
    assert logged == [f"precision: {chosen.policy} ({chosen.reason})"]  # what and why
    model = crnn.build_crnn(cfg, num_classes=5)
    conv = model.get_layer("conv3")
    assert conv.compute_dtype == compute and conv.kernel.dtype == "float32"
    lstm = model.get_layer("bilstm1")
    assert lstm.compute_dtype == compute
    assert model.get_layer("logits").compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in model.weights)

    opt = optimizer.make_optimizer(cfg, 100, chosen.loss_scaling)
    assert isinstance(opt, keras.optimizers.LossScaleOptimizer) == (setting == "fp16")
    opt.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (4, 32, 100, 3)).astype(np.float32)
    labels = np.array([[0, 1, -1], [1, 2, 3], [3, -1, -1], [2, 2, 1]], np.int32)
    labels = np.pad(labels, [(0, 0), (0, cfg.time_steps - 3)], constant_values=-1)
    batch = {"image": images, "labels": labels, "label_length": np.array([2, 3, 1, 3])}
    logits = model(images, training=True)
    assert logits.dtype == tf.float32
    step = loop.make_train_step(tf.distribute.get_strategy(), model, opt, cfg, 4,
                                chosen.loss_scaling)
    batches = iter(tf.data.Dataset.from_tensors(batch).repeat())
    slots = [v for v in opt.variables if len(v.shape) > 0]
    assert len(slots) >= 2 * len(model.trainable_variables)  # Adam m and v for each weight
    for _ in range(20):  # float16 skips the steps whose scaled gradients overflow
        loss, bad = step(batches)
        assert loss.dtype == tf.float32 and np.isfinite(float(loss)) and int(bad) == 0
        if any(float(tf.reduce_max(tf.abs(v))) > 0 for v in slots):
            break
    else:
        pytest.fail("20 steps did not update the optimizer's slots")
    assert all(v.dtype == "float32" for v in slots)


def test_the_stn_runs_under_mixed_precision(restore_policy):
    """Its localization layers follow the policy; the sampler gets float32 coordinates (it
    failed on a bfloat16 theta)."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    cfg = config.override(presets.small(), {"stn": True})
    model = crnn.build_crnn(cfg, num_classes=5)
    x = tf.random.stateless_uniform((2, 32, 100, 3), seed=(3, 4), minval=-1, maxval=1)
    out = model.get_layer("stn")(x)
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-5)  # identity at the start
    assert model(x).dtype == tf.float32


def test_the_stn_affine_parameters_are_float32_under_mixed_precision(restore_policy):
    """A bfloat16 theta rounds 1.003 to 1.0 (steps of 2^-7 near 1): the last Dense is float32."""
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = crnn.build_crnn(config.override(presets.small(), {"stn": True}), num_classes=5)
    stn = model.get_layer("stn")
    last = stn.loc[-1]
    assert last.compute_dtype == "float32" and last.kernel.dtype == "float32"
    bias = np.array([1.003, 0.002, 0.0, -0.001, 0.997, 0.0], np.float32)
    last.bias.assign(bias)
    theta = tf.random.stateless_uniform((2, 32, 100, 3), seed=(5, 6))
    for layer in stn.loc:
        theta = layer(theta)
    assert theta.dtype == tf.float32
    np.testing.assert_array_equal(theta.numpy(), np.tile(bias, (2, 1)))  # the kernel is zero


def test_training_puts_the_policy_back(words32, tmp_path, restore_policy):
    """A run's policy is its own: a model built after train() in the same process is float32."""
    cfg = config.override(presets.small(), {
        "mixed_precision": "bf16", "batch_size": 8, "max_train_steps": 2, "warmup_steps": 1,
        "eval_every": 1000, "save_every": 1000, "log_every": 1, "shuffle_buffer": 8,
        "filters": (8, 8, 8, 8, 8, 8, 8), "rnn_units": 8})  # fmt: skip
    loop.train(cfg, words32, str(tmp_path / "run"))
    assert keras.mixed_precision.global_policy().name == "float32"
    assert crnn.build_crnn(cfg, num_classes=5).get_layer("conv3").compute_dtype == "float32"


def test_validation_scores_the_current_weights_in_float32(tmp_path, restore_policy, monkeypatch):
    """Under mixed_bfloat16, best.json's number is the float32 model's (what export runs): the
    validation gets a float32 twin holding the weights of that step, never the bf16 model."""
    seen = []
    real = loop.evaluation.evaluate

    def spy(model, *args, **kwargs):
        seen.append((model.get_layer("conv3").compute_dtype,
                     [w.numpy().copy() for w in model.weights]))
        return real(model, *args, **kwargs)

    monkeypatch.setattr(loop.evaluation, "evaluate", spy)
    cfg = config.override(presets.small(), {
        "mixed_precision": "bf16", "batch_size": 8, "max_train_steps": 4, "warmup_steps": 1,
        "eval_every": 2, "save_every": 2, "log_every": 1, "shuffle_buffer": 8,
        "filters": (8, 8, 8, 8, 8, 8, 8), "rnn_units": 8})  # fmt: skip
    data = convert_words(tmp_path, WORDS[:16], validation=0.25)
    run = str(tmp_path / "run")
    loop.train(cfg, data, run)
    assert [dtype for dtype, _ in seen] == ["float32", "float32"]
    # each validation saw that step's weights: they moved between steps 2 and 4, and the
    # last ones are the final checkpoint's
    assert any(not np.array_equal(a, b) for a, b in zip(seen[0][1], seen[1][1], strict=True))
    keras.mixed_precision.set_global_policy("float32")
    final = crnn.build_crnn(cfg, num_classes=seen[1][1][-1].shape[0])  # logits bias: classes
    tf.train.Checkpoint(model=final).restore(os.path.join(run, "ckpt", "ckpt-4")).expect_partial()
    for got, want in zip(seen[1][1], final.weights, strict=True):
        np.testing.assert_array_equal(got, want.numpy())


def test_the_float32_twin_computes_in_float32_with_the_models_weights(restore_policy):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    cfg = config.override(presets.small(), {"filters": (8, 8, 16, 16, 16, 16, 16),
                                            "rnn_units": 12})
    model = crnn.build_crnn(cfg, num_classes=7)
    for k, w in enumerate(model.weights):
        if "variance" not in w.path and "gamma" not in w.path:
            w.assign(np.random.default_rng(k).normal(0, 0.3, w.shape))
    twin = loop.float32_twin(cfg, 7)
    scored = loop._scoring_model(model, twin)
    assert scored is twin and twin.get_layer("conv3").compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"  # put back
    x = tf.random.stateless_uniform((2, 32, 100, 3), seed=(1, 2), minval=-1, maxval=1)
    keras.mixed_precision.set_global_policy("float32")
    reference = crnn.build_crnn(cfg, num_classes=7)
    reference.set_weights(model.get_weights())
    np.testing.assert_allclose(scored(x).numpy(), reference(x).numpy(), atol=1e-5)
    assert np.abs(model(x).numpy() - reference(x).numpy()).max() > 1e-3  # bf16 differs
    assert loop.float32_twin(cfg, 7) is None  # a float32 run scores its own model
