"""Read the text of every image in a folder with an exported model or a training checkpoint.

Run with --help for the flags. The code: crnn_ctc/cli/inference.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-inference``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.inference", run_name="__main__", alter_sys=True)
