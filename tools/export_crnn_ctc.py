"""Export a trained CRNN as a versioned SavedModel for TF Serving.

Run with --help for the flags; the code is crnn_ctc/cli/export.py, also installed as the
console command ``crnn-ctc-export``.
"""

try:
    from crnn_ctc.cli.export import run
except ModuleNotFoundError as err:  # a checkout where the toolkit is not installed yet
    hint = "install the toolkit first: pip install -r requirements.txt -e ."
    raise SystemExit(f"{err}: {hint}") from err

if __name__ == "__main__":
    run()
