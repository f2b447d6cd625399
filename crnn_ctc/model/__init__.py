"""The model: logits in, ids and text out.

Owns the model's shape (config.py: ModelConfig), the CRNN (crnn.py) with its optional spatial
transformer (stn.py), the CTC loss (ctc_loss.py), greedy and beam-search decoding
(decoding.py) and its settings (decoder.py, TensorFlow-free), the inference-only forward pass
used by export (inference.py) and the trained-model folder layout, config.json + ckpt/ + best/
(trained.py).

Imports only crnn_ctc.data (charset, ctc_steps).
"""
