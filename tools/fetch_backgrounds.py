"""Photos and textures for the generator's --backgrounds_dir, from Debian packages.

Run with --help for the flags. The code: crnn_ctc/cli/fetch_backgrounds.py, installed with the
toolkit (pip install -r requirements.txt -e .), also as the console command
``crnn-ctc-fetch-backgrounds``.
"""

import runpy

runpy.run_module("crnn_ctc.cli.fetch_backgrounds", run_name="__main__", alter_sys=True)
