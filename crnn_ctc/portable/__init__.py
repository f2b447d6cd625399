"""LiteRT (TFLite) and ONNX exports and their TensorFlow-free runtime.

  graph.py       the CRNN as plain ops: pixels -> per-step logits (export side, TF)
  export.py      .tflite fp32/fp16/dynamic/int8 and .onnx files + contracts (TF, tf2onnx)
  contract.py    the JSON beside each file: input, resize rule, output, charset, blank id
  runtime.py     runs a file with ai-edge-litert or onnxruntime (no TensorFlow)
  ctc.py         greedy and beam CTC decoding in NumPy
  predictions.py Prediction, RecognitionError and the recognize() loop both recognizers share
  recognizer.py  PortableRecognizer: Recognizer's interface over a .tflite/.onnx file

Imports only data and model (TensorFlow-free modules of them on the runtime side); serve's
Recognizer builds on predictions.py and hands .tflite/.onnx files to recognizer.py.
"""
