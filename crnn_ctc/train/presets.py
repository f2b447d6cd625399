"""Named model + training presets: plain functions whose docstrings give the command and the
result they reached (``--preset`` of tools/train_crnn_ctc.py).

    cfg = presets.get("small")
    cfg = config.override(cfg, {"rnn": "gru"})        # explicit flags win over the preset
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from crnn_ctc.train.config import Config


def paper() -> Config:
    """The CRNN of Shi et al. (arXiv 1507.05717) for 32x100x3: 7 convs 64-128-256-256-512-512-512
    with batch norm, 2 x BiLSTM(256). ~8.7M parameters. For GPUs and large sets (Synth90k):

        python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/paper --preset paper
    """
    return Config()


def small() -> Config:
    """A CPU-sized CRNN (filters 32-64-96-96-128-128-128, 2 x BiLSTM(128), ~1.15M parameters)
    that learns clean synthetic words in minutes on 2 cores:

        python tools/train_crnn_ctc.py --data_dir tfrecords/ --model_dir runs/small --preset small

    It overfits 32 rendered words to 100% word accuracy in a few hundred steps on CPU
    (tests/train/test_loop.py)."""
    return Config(
        filters=(32, 64, 96, 96, 128, 128, 128),
        rnn_units=128,
        batch_size=32,
        learning_rate=2e-3,
        warmup_steps=100,
        max_train_steps=5000,
        eval_every=500,
        save_every=500,
        log_every=50,
        shuffle_buffer=2000,
    )


def demo() -> Config:
    """The main job's model (tools/run_demo.py): the `small` CRNN trained for a fixed budget of
    3600 steps x 32 images on 40,000 rendered words (--style clean, 13 font families), about
    11 minutes on 2 CPU cores:

        python tools/run_demo.py
        # = python tools/train_crnn_ctc.py --data_dir demo/tfrecords --model_dir demo/run \
        #       --preset demo

    Result (2026-11-21, 2-vCPU AMD EPYC VM, two runs): 95.70% and 95.05% case-insensitive word
    accuracy (CER 0.69%, 0.76%) on 2,000 words in 4 font families never seen in training;
    training 656 s and 620 s, whole demo 12.5 and 11.7 min. BENCHMARKS.md has the runs."""
    return dataclasses.replace(small(), max_train_steps=3600, warmup_steps=200, eval_every=500,
                               save_every=500, log_every=100, shuffle_buffer=5000)


def crnn_en() -> Config:
    """The shipped English recognizer (models/crnn_en): the `small` CRNN with training-time
    augmentation, 36,000 steps x 32 images on 250,000 rendered words (--style mjsynth, 167 font
    families), sized for about two hours on 2 CPU cores. models/crnn_en/README.md has the full
    recipe (font packages, generator and converter commands) and the results:

        python tools/train_crnn_ctc.py --data_dir runs/crnn_en/tfrecords \
            --model_dir runs/crnn_en/train --preset crnn_en

    This is version 1's training. Version 2 (models/crnn_en/recipe.sh) starts from version 1
    with this preset and two stages: 12,000 steps x 64 on 400,000 scene-style words, then
    2,500 steps x 64 on real crops mixed 3:1 with synthetic ones. A GPU run should scale the
    data and steps up (and consider the `paper` model)."""
    return dataclasses.replace(small(), max_train_steps=36_000, warmup_steps=1000,
                               augment=True, eval_every=2000, save_every=1000, log_every=200,
                               shuffle_buffer=20_000)


def line() -> Config:
    """Text lines (receipts, forms, serial numbers): the `small` CRNN on keep_aspect records at
    32 px height, up to 1024 px wide (the converter's --image_width sets the widest). The CNN's
    horizontal stride is 4, so a crop W px wide gives ceil(W / 4) CTC steps: a character of a
    real line at height 32 is a median 16 px wide (BENCHMARKS.md, "Text lines"), 4 steps per
    character (3 at the 10th percentile), and 1024 px hold 256 steps, 64-85 characters.
    Batches are cut in width buckets, so short crops cost their own width:

        python tools/generate_synthetic.py --style line --output_dir synth_lines --count 40000
        python tools/create_tfrecord.py --anno_file synth_lines/image_list.txt \
            --image_dir synth_lines/ --data_dir tfrecords_lines/ --charset printable \
            --resize keep_aspect --image_height 32 --image_width 1024
        python tools/train_crnn_ctc.py --data_dir tfrecords_lines/ --model_dir runs/line \
            --preset line

    It refuses stretch records (it is for keep_aspect ones)."""
    return dataclasses.replace(small(), resize="keep_aspect", image_width=1024, batch_size=32,
                               warmup_steps=300, max_train_steps=6000, eval_every=500,
                               save_every=500, log_every=50)


PRESETS: dict[str, Callable[[], Config]] = {"paper": paper, "small": small, "demo": demo,
                                            "crnn_en": crnn_en, "line": line}


def get(name: str) -> Config:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()


