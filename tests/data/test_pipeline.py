"""The tf.data pipeline over converter output: batches, labels, augmentation, sharding."""

import json

import numpy as np
import pytest
import tensorflow as tf

from crnn_ctc.data import augment, dataset_info, pipeline
from crnn_ctc.train import config, presets
from tests.conftest import WORDS, convert_words, read_records

CFG = config.override(presets.small(), {"shuffle_buffer": 64})
SIZE = (CFG.image_height, CFG.image_width)


def all_batches(ds):
    out = {"image": [], "labels": [], "label_length": [], "text": [], "path": []}
    for b in ds:
        for k in out:
            out[k].extend(list(b[k].numpy()))
    return out


def test_eval_batches_hold_the_records_exactly(words32):
    records = read_records(words32)
    got = all_batches(pipeline.build_dataset(words32, "train", SIZE, training=False, batch_size=5))
    assert len(got["path"]) == 32  # one pass, last partial batch kept (32 = 6 * 5 + 2)
    for path, text, ids, length, labels, image in zip(
        got["path"], got["text"], got["labels"], got["label_length"], got["labels"],
        got["image"], strict=True,
    ):
        _, _, want_text, want_ids, want_image = records[path.decode()]
        assert text.decode() == want_text and length == len(want_ids)
        assert labels.tolist() == want_ids + [-1] * (CFG.time_steps - len(want_ids))
        np.testing.assert_allclose(image, want_image * (2.0 / 255.0) - 1.0, atol=1e-6)
        assert ids.shape == (25,)


def test_training_batches_are_fixed_size_and_repeat(words32):
    ds = pipeline.build_dataset(words32, "train", SIZE, training=True, batch_size=12, seed=1,
                                shuffle_buffer=CFG.shuffle_buffer)
    seen = set()
    for b in ds.take(8):  # 96 images from 32 records: it repeats
        assert b["image"].shape == (12, 32, 100, 3) and b["image"].dtype == tf.float32
        assert b["labels"].shape == (12, 25)
        seen.update(p.decode() for p in b["path"].numpy())
    assert len(seen) == 32


def test_validation_is_never_augmented(tmp_path):
    data = convert_words(tmp_path, WORDS, validation=0.3)
    plain = all_batches(pipeline.build_dataset(data, "validation", SIZE, False, 8))
    asked = all_batches(pipeline.build_dataset(data, "validation", SIZE, False, 8, augment=True))
    assert plain["path"] == asked["path"] and len(plain["path"]) > 0
    np.testing.assert_array_equal(np.stack(plain["image"]), np.stack(asked["image"]))


def test_training_augmentation_changes_pixels_not_labels(words32):
    records = read_records(words32)
    tf.random.set_seed(0)
    ds = pipeline.build_dataset(words32, "train", SIZE, True, 32, augment=True, seed=2,
                                shuffle_buffer=CFG.shuffle_buffer)
    b = next(iter(ds))
    changed = 0
    for path, text, image in zip(b["path"].numpy(), b["text"].numpy(), b["image"].numpy(),
                                 strict=True):
        raw = records[path.decode()][4] * (2.0 / 255.0) - 1.0
        assert text.decode() == records[path.decode()][2]
        changed += not np.allclose(image, raw, atol=1e-6)
    assert changed >= 16  # each step fires with p <= 0.5; nearly every image gets some


def test_augment_batch_eager_and_in_graph():
    images = tf.cast(tf.random.stateless_uniform((4, 32, 100, 3), (1, 1), 0, 255), tf.uint8)
    out = augment.augment_batch(images)
    assert out.shape == (4, 32, 100, 3) and out.dtype == tf.uint8
    ds = tf.data.Dataset.from_tensors(images).repeat(2).map(augment.augment_batch)
    assert [x.shape for x in ds] == [(4, 32, 100, 3)] * 2
    x = tf.cast(images, tf.float32)
    on = tf.constant([True, False, True, False])
    for step in (augment.random_warp, augment.gaussian_blur, augment.color_jitter,
                 augment.gaussian_noise, augment.invert):
        assert step(x).shape == (4, 32, 100, 3)
        got = augment.apply_where(step, x, on).numpy()
        for i in (0, 2):
            assert not np.allclose(got[i], x[i].numpy(), atol=1e-3), step.__name__
        for i in (1, 3):  # not picked: unchanged
            np.testing.assert_array_equal(got[i], x[i].numpy())
        none = augment.apply_where(step, x, tf.constant([False] * 4))
        np.testing.assert_array_equal(none.numpy(), x.numpy())
    for draws in (augment.Draws(), augment.Draws(tf.constant([3, 4]))):
        jpeg = augment.jpeg_recompress(images, draws, min_quality=30, max_quality=31)
        assert jpeg.shape == (4, 32, 100, 3) and jpeg.dtype == tf.uint8
        assert np.abs(jpeg.numpy().astype(int) - images.numpy()).mean() > 1  # lossy: changed


def test_blur_folded_into_channels_equals_a_per_image_convolution():
    """Each image blurred with its own kernel equals a separate convolution of that image."""
    x = tf.random.stateless_uniform((3, 8, 9, 3), (2, 2), 0, 255)
    got = augment.gaussian_blur(x, max_sigma=0.3 + 1e-7).numpy()  # sigma = 0.3 for all
    k = np.exp(-0.5 * (np.arange(-2.0, 3.0) / 0.3) ** 2)
    k = (k / k.sum()).astype(np.float32)
    kx = np.tile(k.reshape(1, 5, 1, 1), (1, 1, 3, 1))
    ky = np.tile(k.reshape(5, 1, 1, 1), (1, 1, 3, 1))
    for i in range(3):
        want = tf.nn.depthwise_conv2d(x[i: i + 1], kx, [1, 1, 1, 1], "SAME")
        want = tf.nn.depthwise_conv2d(want, ky, [1, 1, 1, 1], "SAME")
        np.testing.assert_allclose(got[i], want.numpy()[0], atol=1e-3)


def test_labels_longer_than_the_time_steps_are_cut_but_keep_their_length(tmp_path):
    words = ["abcdefghijklmnop", "abc"]  # 16 letters; a 40-pixel model has 10 steps
    data = convert_words(tmp_path, words, image_width=40, max_label_length=20)
    cfg = config.override(CFG, {"image_width": 40})
    got = all_batches(pipeline.build_dataset(data, "train", (cfg.image_height, 40), training=False,
                                           batch_size=4))
    by_text = {t.decode(): (lab.tolist(), n) for t, lab, n in
               zip(got["text"], got["labels"], got["label_length"], strict=True)}
    long_ids, long_len = by_text["abcdefghijklmnop"]
    assert long_len == 16 and len(long_ids) == 10 and -1 not in long_ids
    assert by_text["abc"][1] == 3 and by_text["abc"][0][3:] == [-1] * 7


def test_input_pipelines_split_the_records(words32):
    paths = []
    for pid in range(2):
        ctx = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pid)
        ds = pipeline.build_dataset(words32, "train", SIZE, False, 8, input_context=ctx)
        paths.append({p.decode() for p in all_batches(ds)["path"]})
    assert paths[0].isdisjoint(paths[1]) and len(paths[0] | paths[1]) == 32
    assert len(paths[0]) == 16


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="charset.txt not found.*create_tfrecord.py"):
        dataset_info.read_info(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="no validation-NNNNN-of-NNNNN.tfrecord files"):
        pipeline.shard_files(str(tmp_path), "validation")


def test_read_info(words32):
    info = dataset_info.read_info(words32)
    assert (info.image_height, info.image_width) == (32, 100)
    assert info.records == {"train": 32, "validation": 0}
    assert len(info.charset) == len(set("".join(WORDS)))


@pytest.mark.parametrize("training", [False, True])
def test_fewer_files_than_workers_partition_the_records(tmp_path, training):
    """2 shard files, 3 workers: each reads every file in the same order and keeps every 3rd
    record, before any shuffle or parallel interleave, so the workers' records partition the set
    (in training too: three epochs of a worker's shuffled stream hold exactly its share; the
    parallel map may hand out an element of the next epoch before the last one of this)."""
    data = convert_words(tmp_path, WORDS, num_shards=2)
    seen = []
    for pid in range(3):
        ctx = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=pid)
        share = len(WORDS) // 3 + (pid < len(WORDS) % 3)
        ds = pipeline.build_dataset(data, "train", SIZE, training, 1, seed=pid,
                                    shuffle_buffer=CFG.shuffle_buffer, input_context=ctx)
        paths = [p.decode() for b in ds.take(3 * share if training else share + 1)
                 for p in b["path"].numpy()]
        if training:
            assert len(paths) == 3 * share and len(set(paths)) == share
        else:  # one pass, in order
            assert len(paths) == len(set(paths)) == share
        seen.append(set(paths))
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])
    assert len(seen[0] | seen[1] | seen[2]) == len(WORDS)


def test_a_conversion_on_two_machines_is_read_from_its_task_reports(tmp_path):
    """2 tasks at 64x128 write dataset.task-*.json only: training reads the image size and
    the summed record counts from them; a missing or disagreeing report is an error naming it."""
    from crnn_ctc.data import convert
    from tests.conftest import make_words_dir

    anno = make_words_dir(tmp_path, WORDS)
    out = tmp_path / "tfrecords"
    for task in range(2):
        convert.convert(convert.ConvertConfig(
            image_dir=str(tmp_path), anno_file=str(anno), data_dir=str(out), num_workers=1,
            progress=False, num_shards=2, image_height=64, image_width=128,
            validation_split_fraction=0.25, task_index=task, num_tasks=2))
    assert not (out / "dataset.json").exists()
    info = dataset_info.read_info(str(out))
    assert (info.image_height, info.image_width) == (64, 128)
    assert sum(info.records.values()) == len(WORDS) and info.records["validation"] > 0
    batch = next(iter(pipeline.build_dataset(str(out), "train", (64, 128), False, 4)))
    assert batch["image"].shape == (4, 64, 128, 3)
    second = out / "dataset.task-00001-of-00002.json"
    report = json.loads(second.read_text())
    second.write_text(json.dumps({**report, "image": {**report["image"], "height": 32}}))
    with pytest.raises(ValueError, match=r"dataset.task-00001-of-00002.json and "
                       r"dataset.task-00000-of-00002.json disagree on image"):
        dataset_info.read_info(str(out))
    second.unlink()
    with pytest.raises(FileNotFoundError, match="dataset.task-00001-of-00002.json missing"):
        dataset_info.read_info(str(out))
    (out / "dataset.task-00000-of-00002.json").unlink()
    with pytest.raises(FileNotFoundError, match="dataset.json not found"):
        dataset_info.read_info(str(out))


@pytest.mark.parametrize("batch,ratio,folders,want", [
    (64, (), 2, [32, 32]),
    (64, (1, 3), 2, [16, 48]),
    (64, (0.25, 0.75), 2, [16, 48]),
    (10, (), 3, [4, 3, 3]),  # largest remainder: the sizes add up to the batch
    (7, (2, 1), 2, [5, 2]),
    (32, (), 1, [32]),
])
def test_mixed_batch_sizes(batch, ratio, folders, want):
    assert pipeline.mixed_batch_sizes(batch, ratio, folders) == want


@pytest.mark.parametrize("batch,ratio,folders,message", [
    (64, (1, 1, 1), 2, "3 values for 2 --data_dir folders"),
    (64, (1, 0), 2, "must be > 0"),
    (8, (1, 99), 2, "leaves a folder no image"),
])
def test_mixed_batch_size_errors(batch, ratio, folders, message):
    with pytest.raises(ValueError, match=message):
        pipeline.mixed_batch_sizes(batch, ratio, folders)


def test_mixed_batches_hold_each_folder_in_its_share(words32, tmp_path):
    """3 records of every batch from the first folder, 9 from the second (its words spelled
    backwards, the same charset), and over enough batches every record of both."""
    backwards = [w[::-1] for w in WORDS]
    other = convert_words(tmp_path, backwards, charset=f"{words32}/charset.txt")
    ds = pipeline.build_mixed_dataset([words32, other], [3, 9], SIZE, seed=4,
                                      shuffle_buffer=CFG.shuffle_buffer)
    seen = [set(), set()]
    for b in ds.take(12):
        texts = [t.decode() for t in b["text"].numpy()]
        assert b["image"].shape == (12, 32, 100, 3) and b["labels"].shape == (12, 25)
        assert all(t in WORDS for t in texts[:3]) and all(t in backwards for t in texts[3:])
        seen[0].update(texts[:3])
        seen[1].update(texts[3:])
    assert seen[0] == set(WORDS) and seen[1] == set(backwards)
    # the labels are the texts' ids in both parts
    charset = dataset_info.read_info(words32).charset
    for text, labels, n in zip(b["text"].numpy(), b["labels"].numpy(), b["label_length"].numpy(),
                               strict=True):
        assert charset.decode(labels[:n].tolist()) == text.decode()


def test_seeded_augmentation_does_not_depend_on_scheduling(tmp_path):
    """One record repeated, augmentation on, parallel map calls: two pipelines with the same
    seed give the same pixels batch for batch (the draws are stateless, on seeds from each
    image's and batch's position), another seed other pixels; augment_batch with a seed is a
    function of the seed and the images."""
    data = convert_words(tmp_path, ["seeded"])

    def pixels(seed):
        ds = pipeline.build_dataset(data, "train", SIZE, True, 16, augment=True, seed=seed,
                                    shuffle_buffer=4)
        return np.stack([b["image"].numpy() for b in ds.take(4)])

    a, b, c = pixels(3), pixels(3), pixels(4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 0.01
    assert np.abs(a[0, 0] - a[0, 1]).mean() > 0.01  # the images of a batch differ
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (6, 32, 100, 3), np.uint8))
    one, two = (augment.augment_batch(images, seed=tf.constant([5, 1])) for _ in range(2))
    np.testing.assert_array_equal(one.numpy(), two.numpy())
    assert not np.array_equal(one.numpy(),
                              augment.augment_batch(images, seed=tf.constant([5, 2])).numpy())
