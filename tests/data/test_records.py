import tensorflow as tf

from crnn_ctc.data import record_parser, record_schema, record_writer


def _reference(image, fmt, text, ids, path) -> tf.train.Example:
    def b(v):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))

    return tf.train.Example(
        features=tf.train.Features(
            feature={
                record_schema.IMAGE: b(image),
                record_schema.FORMAT: b(fmt.encode()),
                record_schema.PATH: b(path.encode()),
                record_schema.TEXT: b(text.encode()),
                record_schema.IDS: tf.train.Feature(int64_list=tf.train.Int64List(value=ids)),
            }
        )
    )


CASES = [
    (b"\x89PNG fake", "png", "hello", [17, 14, 21, 21, 24], "a/1.jpg"),
    (b"", "jpeg", "서울12가", [0, 300, 2**40, 127, 128], "번호판/1.jpg"),
    (bytes(range(256)) * 40, "png", "", [], "x"),
    (b"x", "png", "neg", [-1], "n.jpg"),
]


def test_encode_example_equals_protobuf_message():
    for case in CASES:
        ours = tf.train.Example.FromString(record_writer.encode_example(*case))
        assert ours == _reference(*case), case


def test_framed_records_read_back_by_tfrecord_dataset(tmp_path):
    writer = record_writer.ShardWriter(str(tmp_path), "train-00000-of-00001.tfrecord")
    payloads = [record_writer.encode_example(*c) for c in CASES]
    for p in payloads:
        writer.write(record_writer.frame_record(p))
    assert not (tmp_path / "train-00000-of-00001.tfrecord").exists()  # not until closed
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train-00000-of-00001.tfrecord"]
    got = [r.numpy() for r in tf.data.TFRecordDataset(str(writer.final_path))]
    assert got == payloads
    assert writer.records == 4


def test_corrupted_frame_fails_crc(tmp_path):
    data = bytearray(record_writer.frame_record(record_writer.encode_example(*CASES[0])))
    data[20] ^= 0xFF
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(data))
    ds = tf.data.TFRecordDataset(str(path))
    try:
        list(ds)
        raised = False
    except tf.errors.DataLossError:
        raised = True
    assert raised


def test_abort_leaves_nothing(tmp_path):
    writer = record_writer.ShardWriter(str(tmp_path), "train-00000-of-00001.tfrecord")
    writer.write(record_writer.frame_record(b"x"))
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_parse_example_eager_and_in_dataset():
    import cv2
    import numpy as np

    image = np.random.default_rng(0).integers(0, 255, (32, 100, 3), dtype=np.uint8)
    png = cv2.imencode(".png", image[:, :, ::-1])[1].tobytes()
    raw = record_writer.encode_example(png, "png", "ab", [10, 11], "p.png")
    eager = record_parser.parse_example(tf.constant(raw), (32, 100))
    assert np.array_equal(eager["image"].numpy(), image)
    assert eager["label_ids"].numpy().tolist() == [10, 11]
    assert eager["label_ids"].dtype == tf.int32
    (mapped,) = list(
        tf.data.Dataset.from_tensors(raw).map(lambda s: record_parser.parse_example(s, (32, 100)))
    )
    assert mapped["text"].numpy() == b"ab" and mapped["path"].numpy() == b"p.png"
    assert np.array_equal(mapped["image"].numpy(), image)


def test_shard_name_and_pattern():
    name = record_schema.shard_name("validation", 3, 12)
    assert name == "validation-00003-of-00012.tfrecord"
    m = record_schema.SHARD_RE.match(name)
    assert (m["split"], int(m["index"]), int(m["total"])) == ("validation", 3, 12)
    assert record_schema.SHARD_RE.match(record_schema.tmp_name(name)) is None
