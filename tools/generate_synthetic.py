"""Renders MJSynth-like word images: images/ + image_list.txt for create_tfrecord.py.

Run with --help for the flags. The code: crnn_ctc/cli/generate_synthetic.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-generate-synthetic``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.generate_synthetic", run_name="__main__", alter_sys=True)
