"""Converts an annotation file and its images into sharded TFRecords for CRNN training.

Run with --help for the flags. The code: crnn_ctc/cli/create_tfrecord.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-create-tfrecord``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.create_tfrecord", run_name="__main__", alter_sys=True)
