"""The main job: the whole toolkit on synthetic words, on CPU, in about 12 minutes on 2 cores.

Run with --help for the flags. The code: crnn_ctc/cli/demo.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-demo``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.demo", run_name="__main__", alter_sys=True)
