"""crnn_ctc: train and serve CRNN + CTC text recognizers with TensorFlow 2.

    import crnn_ctc
    rec = crnn_ctc.Recognizer.load()             # the shipped English model (models/crnn_en)
    preds = rec.recognize(["a.jpg", png_bytes, rgb_uint8_array])
    preds[0].text, preds[0].score

The subpackages follow the data path; each imports only the ones before it:

  data      charset, annotations, splits, record schema/writer/parser, image decode and resize
            (NumPy and TensorFlow twins), the converter, the tf.data pipeline
  synth     synthetic word images: fonts, text, rendering, backgrounds, generation, word list
  model     the CRNN (+ GRU, STN), CTC loss, decoding, the trained-model folder
  evaluate  metrics, evaluation over records or labelled folders, contact sheets
  train     config and presets, strategy, optimizer, the loop, checkpoints, fine-tuning
  serve     serving graph, SavedModel export and versions, Recognizer, TF Serving payloads
  cli       the command-line tools (tools/*.py and the crnn-ctc-* commands)

Importing ``crnn_ctc`` loads nothing heavy: ``Recognizer`` imports TensorFlow on first use.
"""

__version__ = "0.2.0"

__all__ = ["Prediction", "RecognitionError", "Recognizer", "__version__"]


def __getattr__(name: str):
    if name in ("Prediction", "RecognitionError", "Recognizer"):
        from crnn_ctc.serve import recognizer  # noqa: PLC0415 (TensorFlow on first use only)

        return getattr(recognizer, name)
    raise AttributeError(f"module 'crnn_ctc' has no attribute {name!r}")
