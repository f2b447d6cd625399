"""Downloads Google Fonts families for the word generator (fonts/ + manifest.tsv).

Run with --help for the flags. The code: crnn_ctc/cli/fetch_fonts.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-fetch-fonts``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.fetch_fonts", run_name="__main__", alter_sys=True)
