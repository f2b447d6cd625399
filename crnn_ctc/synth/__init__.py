"""Synthetic word images (tools/generate_synthetic.py): font pools (fonts.py), text sampling
(text.py, with the SCOWL word list words_en.txt), rendering (render.py), photo backgrounds
(backgrounds.py) and the generator that writes a set create_tfrecord.py reads (generate.py);
crop_stats.py measures how images compare with real crops (contrast, sharpness, aspect, tilt).

Imports only crnn_ctc.data (charset, image formats); never model, train, evaluate or serve.
"""
