"""Send images to a model served by TF Serving and print the texts (REST or gRPC).

Run with --help for the flags; the code is crnn_ctc/cli/serving_client.py, also installed as the
console command ``crnn-ctc-serving-client``.
"""

try:
    from crnn_ctc.cli.serving_client import run
except ModuleNotFoundError as err:  # a checkout where the toolkit is not installed yet
    hint = "install the toolkit first: pip install -r requirements.txt -e ."
    raise SystemExit(f"{err}: {hint}") from err

if __name__ == "__main__":
    run()
