"""Train a CRNN+CTC recognizer on the TFRecords written by create_tfrecord.py.

Run with --help for the flags. The code: crnn_ctc/cli/train.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-train``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.train", run_name="__main__", alter_sys=True)
