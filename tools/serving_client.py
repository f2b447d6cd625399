"""Send images to a model served by TF Serving and print the texts (REST or gRPC).

Run with --help for the flags. The code: crnn_ctc/cli/serving_client.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-serving-client``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.serving_client", run_name="__main__", alter_sys=True)
