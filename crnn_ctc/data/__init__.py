"""Data: from an annotation file and its images to TFRecords, and from TFRecords to batches.

Owns the charset (charset.py), annotation parsing (annotations.py), the label-length rule
(ctc_steps.py), split names and stable splits (splits.py), the accepted image formats
(formats.py), image decode/resize in NumPy/OpenCV (image_np.py) and its TensorFlow twin
(image_tf.py), the record schema (record_schema.py) with its writer (record_writer.py, no
TensorFlow) and parser (record_parser.py), the converter (convert.py, convert_worker.py,
dataset_files.py), image listing (image_files.py), the tf.data pipeline (pipeline.py) and
training-time augmentation (augment.py).

Imports nothing else of crnn_ctc. The converter's worker modules (convert_worker, image_np,
record_writer, record_schema) never import TensorFlow.
"""
