"""The main job: the whole toolkit on synthetic words, on CPU, in about 12 minutes on 2 cores.

Run with --help for the flags; the code is crnn_ctc/cli/demo.py, also installed as the
console command ``crnn-ctc-demo``.
"""

try:
    from crnn_ctc.cli.demo import run
except ModuleNotFoundError as err:  # a checkout where the toolkit is not installed yet
    hint = "install the toolkit first: pip install -r requirements.txt -e ."
    raise SystemExit(f"{err}: {hint}") from err

if __name__ == "__main__":
    run()
