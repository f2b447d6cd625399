"""crnn_ctc: train and serve CRNN + CTC text recognizers with TensorFlow 2.

    import crnn_ctc
    rec = crnn_ctc.Recognizer.load()             # the shipped English model (models/crnn_en)
    preds = rec.recognize(["a.jpg", png_bytes, rgb_uint8_array])
    preds[0].text, preds[0].score
    rec = crnn_ctc.PortableRecognizer.load("crnn_int8.tflite")   # LiteRT/ONNX, no TensorFlow

The subpackages follow the data path; each imports only the ones before it:

  data      charset, annotations, splits, record schema/writer/parser, image decode and resize
            (NumPy and TensorFlow twins), the converter, the tf.data pipeline
  synth     synthetic word images: fonts, text, rendering, backgrounds, generation, word list
  model     the CRNN (+ GRU, STN), CTC loss, decoding, the trained-model folder
  evaluate  metrics, evaluation over records or labelled folders, contact sheets
  train     config and presets, strategy, optimizer, the loop, checkpoints, fine-tuning
  portable  LiteRT (TFLite) / ONNX export, and their TensorFlow-free runtime and CTC decoder
  serve     serving graph, SavedModel export and versions, Recognizer, TF Serving payloads
  cli       the command-line tools (tools/*.py and the crnn-ctc-* commands)

Importing ``crnn_ctc`` loads nothing heavy: ``Recognizer`` imports TensorFlow on first use;
``PortableRecognizer`` never does (ai-edge-litert or onnxruntime run the model).
"""

import os as _os

__version__ = "0.2.0"

# TensorFlow turns its oneDNN CPU kernels on by default only on CPUs with AVX-512 VNNI/BF16 or
# AMX; elsewhere (e.g. AVX2-only AMD EPYC) convolutions and their gradients run as im2col + small
# GEMMs, 1.35-1.5x slower to train here (BENCHMARKS.md). On by default for every CPU when this
# package is imported before TensorFlow; TF_ENABLE_ONEDNN_OPTS=0 still turns it off.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__all__ = ["PortableRecognizer", "Prediction", "RecognitionError", "Recognizer", "__version__"]

_LAZY = {  # name -> module; Recognizer imports TensorFlow on first use, the others never do
    "Recognizer": "crnn_ctc.serve.recognizer",
    "Prediction": "crnn_ctc.portable.predictions",
    "RecognitionError": "crnn_ctc.portable.predictions",
    "PortableRecognizer": "crnn_ctc.portable.recognizer",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'crnn_ctc' has no attribute {name!r}")
