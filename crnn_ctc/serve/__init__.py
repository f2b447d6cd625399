"""Serving: the graph from image bytes to text (graph.py), SavedModel export (export.py) and
TF Serving's version folders (versions.py), the Python Recognizer over a SavedModel or a
training folder (recognizer.py; a .tflite/.onnx file goes to crnn_ctc.portable), REST/gRPC
payloads and the warmup file (payloads.py, no TensorFlow needed for REST) and the shipped
model's location (pretrained.py).

May import every subpackage except cli.
"""
