"""Evaluation: word accuracy and CER with the scene-text protocol (metrics.py), a model over
batches of records or labelled image folders (evaluation.py), the report of a trained folder
on TFRecords and annotation files (report.py) and contact sheets (contact_sheet.py).

Imports crnn_ctc.data and crnn_ctc.model; training's periodic validation uses it, so it never
imports train or serve.
"""
