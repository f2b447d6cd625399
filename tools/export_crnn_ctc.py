"""Export a trained CRNN: a versioned SavedModel for TF Serving, or LiteRT (TFLite) and ONNX files.

Run with --help for the flags. The code: crnn_ctc/cli/export.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-export``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.export", run_name="__main__", alter_sys=True)
