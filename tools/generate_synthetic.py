"""Renders MJSynth-like word images: images/ + image_list.txt for create_tfrecord.py.

Run with --help for the flags; the code is crnn_ctc/cli/generate_synthetic.py, also installed as the
console command ``crnn-ctc-generate-synthetic``.
"""

try:
    from crnn_ctc.cli.generate_synthetic import run
except ModuleNotFoundError as err:  # a checkout where the toolkit is not installed yet
    hint = "install the toolkit first: pip install -r requirements.txt -e ."
    raise SystemExit(f"{err}: {hint}") from err

if __name__ == "__main__":
    run()
