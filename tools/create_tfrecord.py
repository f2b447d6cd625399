"""Converts an annotation file and its images into sharded TFRecords for CRNN training.

Run with --help for the flags; the code is crnn_ctc/cli/create_tfrecord.py, also installed as the
console command ``crnn-ctc-create-tfrecord``.
"""

try:
    from crnn_ctc.cli.create_tfrecord import run
except ModuleNotFoundError as err:  # a checkout where the toolkit is not installed yet
    hint = "install the toolkit first: pip install -r requirements.txt -e ."
    raise SystemExit(f"{err}: {hint}") from err

if __name__ == "__main__":
    run()
