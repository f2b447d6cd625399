"""Importing crnn_ctc before TensorFlow turns TensorFlow's oneDNN CPU kernels on, also on CPUs
where TensorFlow leaves them off by default; TF_ENABLE_ONEDNN_OPTS=0 still turns them off."""

import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = "import crnn_ctc, os, tensorflow as tf; tf.constant(1.0); " \
         "print('VALUE', os.environ['TF_ENABLE_ONEDNN_OPTS'])"


def run(**env):
    base = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env={**base, "TF_CPP_MIN_LOG_LEVEL": "0", **env})


def test_on_by_default_and_tensorflow_says_so():
    done = run()
    assert done.returncode == 0, done.stderr[-2000:]
    assert "VALUE 1" in done.stdout
    assert "oneDNN custom operations are on" in done.stderr  # TensorFlow honoured it


def test_the_user_can_still_turn_it_off():
    done = run(TF_ENABLE_ONEDNN_OPTS="0")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "VALUE 0" in done.stdout
    assert "oneDNN custom operations are on" not in done.stderr
