"""Evaluate a trained CRNN: word accuracy and CER, greedy or beam search.

Run with --help for the flags. The code: crnn_ctc/cli/eval.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-eval``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.eval", run_name="__main__", alter_sys=True)
