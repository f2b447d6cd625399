"""Synthetic word images (tools/generate_synthetic.py): font pools (fonts.py), text sampling
(text.py, with the SCOWL word list words_en.txt), rendering (render.py), photo backgrounds
(backgrounds.py) and the generator that writes a set create_tfrecord.py reads (generate.py).

Imports only crnn_ctc.data (charset, image formats); never model, train, evaluate or serve.
"""
