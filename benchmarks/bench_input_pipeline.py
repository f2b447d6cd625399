"""Input pipeline throughput: images/s that crnn_ctc.data.pipeline decodes and batches.

    python benchmarks/bench_input_pipeline.py --num_images 6000 --seconds 8 --repeats 3

Data: the word images of bench_create_tfrecord.py (rendered once, cached in results/), converted
once with create_tfrecord's library into results/pipeline_tfr_<N>/ (8 train shards). Each
configuration iterates build_dataset(...) for --seconds after a warm-up and counts images that
reached the end (decoded, augmented when asked, padded, batched, scaled to float). The model is
not run, so this is the rate the pipeline can feed, to compare with what training consumes.
Prints one JSON object; --out saves it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench_create_tfrecord import RESULTS, emit, ensure_data, machine_info  # noqa: E402


def ensure_records(num_images: int, seed: int) -> str:
    from crnn_ctc.data import convert  # noqa: PLC0415

    out = os.path.join(RESULTS, f"pipeline_tfr_{num_images}")
    if os.path.isfile(os.path.join(out, "dataset.json")):
        return out
    data, _ = ensure_data(num_images, seed)
    convert.convert(convert.ConvertConfig(
        image_dir=data, anno_file=os.path.join(data, "image_list.txt"), data_dir=out,
        num_shards=8, validation_split_fraction=0.05, lowercase=True, charset="alnum_lower",
        progress=False,
    ))
    return out


def measure(data_dir: str, training: bool, augment: bool, batch: int, seconds: float) -> dict:
    from crnn_ctc.data import pipeline
    from crnn_ctc.train import presets  # noqa: PLC0415

    cfg = presets.paper()
    ds = pipeline.build_dataset(data_dir, "train", (cfg.image_height, cfg.image_width),
                                training=training, batch_size=batch, augment=augment,
                                shuffle_buffer=cfg.shuffle_buffer)
    if not training:
        ds = ds.repeat()
    it = iter(ds)
    for _ in range(20):  # warm-up: threads start, autotune settles
        next(it)
    images, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        images += int(next(it)["image"].shape[0])
    return {"images": images, "seconds": round(time.perf_counter() - start, 3),
            "images_per_second": round(images / (time.perf_counter() - start), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_images", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(RESULTS, "input_pipeline.json"))
    args = parser.parse_args()


    data_dir = ensure_records(args.num_images, args.seed)
    configs = {"train": (True, False), "train_augment": (True, True), "eval": (False, False)}
    runs: dict[str, list] = {name: [] for name in configs}
    for _ in range(args.repeats):  # round-robin, so machine noise spreads over all configs
        for name, (training, augment) in configs.items():
            runs[name].append(measure(data_dir, training, augment, args.batch_size,
                                      args.seconds))
    result = {
        "benchmark": "input_pipeline",
        "machine": machine_info(),  # date, CPU model, package versions, git commit
        "args": vars(args),
        "median_images_per_second": {
            name: statistics.median(r["images_per_second"] for r in rs)
            for name, rs in runs.items()
        },
        "runs": runs,
    }
    emit(result, args.out)


if __name__ == "__main__":
    main()
