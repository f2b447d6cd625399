"""Read the text of every image in a folder with an exported model or a training checkpoint.

Run with --help for the flags; the code is crnn_ctc/cli/inference.py, also installed as the
console command ``crnn-ctc-inference``.
"""

try:
    from crnn_ctc.cli.inference import run
except ModuleNotFoundError as err:  # a checkout where the toolkit is not installed yet
    hint = "install the toolkit first: pip install -r requirements.txt -e ."
    raise SystemExit(f"{err}: {hint}") from err

if __name__ == "__main__":
    run()
