"""A PyTorch eager CRNN of the same shape as ours, timed on CPU: the worker of bench_vs_pytorch.py.

    .bench-venv-torch/bin/python benchmarks/torch_crnn.py --preset paper --mode train
    .bench-venv-torch/bin/python benchmarks/torch_crnn.py --preset small --mode infer

Runs in the benchmark's own venv (bench_vs_pytorch.py makes it): imports only torch, numpy and
the standard library, never the project. Prints one JSON line.

The model is crnn_ctc/model/crnn.py's ``build_crnn`` for a ``--preset`` (``paper``: filters
64-128-256-256-512-512-512, BiLSTM 256; ``small``: 32-64-96-96-128-128-128, BiLSTM 128), in
NCHW: input (B, 3, 32, 100); 7 convs 3x3 'same' without bias, each + BatchNorm (torch momentum
0.1 = Keras 0.9, eps 1e-3 as Keras) + ReLU; max-pools 2x2 after conv1 and conv2, (2, 1) after
conv4 and conv6; a one-column zero pad on the right and conv7 (2, 2) 'valid' -> (B, C, 1, 25);
the sequence (25, B, C) -> 2 x bidirectional LSTM -> Linear(2 x units -> 37). 37 classes =
36 symbols (alnum_lower) + the blank, the last class.

Parameter counts differ by convention only: torch's ``parameters()`` leave out BatchNorm's
running mean and variance (buffers; Keras' ``count_params`` counts them as non-trainable
weights), and torch's LSTM has two bias vectors per gate (b_ih and b_hh) where Keras has one,
16 x units more. ``params_keras_convention`` = parameters + BN running statistics - b_hh, which
is the number ours reports for the same shape.

Modes (fp32, eager, no torch.compile; torch.set_num_threads = the cores this process may use,
or --threads):
  train   --warmup then --steps training steps at --batch on one synthetic batch (uniform
          [-1, 1] images, 3-10 random labels of 36 symbols, drawn like bench_train_cpu.py's):
          forward, log_softmax, F.ctc_loss (blank 36, summed / batch as our loss), backward,
          clip_grad_norm_(5), Adam step, the loss read on the host -> img/s per step.
  infer   model.eval() and torch.inference_mode(): forward + greedy CTC decode (argmax,
          collapse repeats, drop blanks, map to text) of one preprocessed (1, 3, 32, 100)
          tensor, 20 warm-up calls then --requests timed calls -> p50 / p99 ms; then one
          warm-up and --batches timed calls of a (64, 3, 32, 100) batch -> images/s (median).
  params  the parameter counts only (every mode prints them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import string
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SHAPES = {"paper": ((64, 128, 256, 256, 512, 512, 512), 256),
          "small": ((32, 64, 96, 96, 128, 128, 128), 128)}  # fmt: skip
POOLS = {0: (2, 2), 1: (2, 2), 3: (2, 1), 5: (2, 1)}  # after convs 1, 2, 4, 6 (as crnn.POOLS)
CHARSET = string.digits + string.ascii_lowercase  # alnum_lower
NUM_CLASSES = len(CHARSET) + 1
BLANK = NUM_CLASSES - 1
HEIGHT, WIDTH = 32, 100


def _conv_bn_relu(cin: int, cout: int, kernel, padding) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, kernel, padding=padding, bias=False),
            nn.BatchNorm2d(cout, eps=1e-3, momentum=0.1), nn.ReLU(inplace=True)]  # fmt: skip


class CRNN(nn.Module):
    """(B, 3, 32, 100) float in [-1, 1] -> logits (T=25, B, 37), time-major."""

    def __init__(self, filters, units: int, num_classes: int = NUM_CLASSES):
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for i, cout in enumerate(filters[:6]):
            layers += _conv_bn_relu(cin, cout, 3, 1)
            if i in POOLS:
                layers.append(nn.MaxPool2d(POOLS[i], POOLS[i]))
            cin = cout
        layers.append(nn.ZeroPad2d((0, 1, 0, 0)))  # (left, right, top, bottom)
        layers += _conv_bn_relu(cin, filters[6], (HEIGHT // 16, 2), 0)
        self.cnn = nn.Sequential(*layers)
        self.rnn = nn.LSTM(filters[6], units, num_layers=2, bidirectional=True)
        self.fc = nn.Linear(2 * units, num_classes)

    def forward(self, x):
        features = self.cnn(x)  # (B, C, 1, T)
        seq = features.squeeze(2).permute(2, 0, 1)  # (T, B, C)
        out, _ = self.rnn(seq)
        return self.fc(out)


def param_counts(model: CRNN, units: int) -> dict:
    params = sum(p.numel() for p in model.parameters())
    bn_stats = sum(m.running_mean.numel() + m.running_var.numel()
                   for m in model.modules() if isinstance(m, nn.BatchNorm2d))  # fmt: skip
    extra_bias = 4 * units * 2 * model.rnn.num_layers  # b_hh: 4 gates x 2 directions x layers
    return {"params": params, "bn_running_stats": bn_stats, "lstm_b_hh": extra_bias,
            "params_keras_convention": params + bn_stats - extra_bias}  # fmt: skip


def synthetic_batch(batch: int, seed: int):
    """The same draws, in the same order, as bench_train_cpu.run_worker's batch (NCHW here)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(3, 11, batch).astype(np.int64)
    labels = [rng.integers(0, NUM_CLASSES - 1, n) for n in lengths]
    images = rng.uniform(-1, 1, (batch, HEIGHT, WIDTH, 3)).astype(np.float32)
    return (torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))),
            torch.from_numpy(np.concatenate(labels).astype(np.int64)),
            torch.from_numpy(lengths))  # fmt: skip


def time_train(model: CRNN, batch: int, steps: int, warmup: int, seed: int) -> dict:
    images, targets, target_lengths = synthetic_batch(batch, seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for k in range(warmup + steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(images)  # (T, B, C)
        input_lengths = torch.full((batch,), logits.shape[0], dtype=torch.int64)
        loss = F.ctc_loss(F.log_softmax(logits, 2), targets, input_lengths, target_lengths,
                          blank=BLANK, reduction="sum", zero_infinity=True) / batch
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        float(loss)  # the host has the loss
        if k >= warmup:
            times.append(time.perf_counter() - start)
    return {"batch": batch, "img_s": [batch / t for t in times]}


def greedy_decode(logits) -> list[str]:
    """(T, B, C) logits -> text per image: argmax, collapse repeats, drop blanks."""
    best = logits.argmax(2).t().numpy()  # (B, T)
    prev = np.concatenate([np.full((best.shape[0], 1), -1), best[:, :-1]], axis=1)
    keep = (best != prev) & (best != BLANK)
    return ["".join(CHARSET[c] for c in row[k]) for row, k in zip(best, keep, strict=True)]


def time_infer(model: CRNN, requests: int, batches: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    single = torch.from_numpy(rng.uniform(-1, 1, (1, 3, HEIGHT, WIDTH)).astype(np.float32))
    batch64 = torch.from_numpy(rng.uniform(-1, 1, (64, 3, HEIGHT, WIDTH)).astype(np.float32))
    model.eval()
    with torch.inference_mode():
        for _ in range(20):  # warm-up, as bench_serving.measure
            greedy_decode(model(single))
        greedy_decode(model(batch64))
        latency = []
        for _ in range(requests):
            start = time.perf_counter()
            greedy_decode(model(single))
            latency.append((time.perf_counter() - start) * 1e3)
        rates = []
        for _ in range(batches):
            start = time.perf_counter()
            greedy_decode(model(batch64))
            rates.append(64 / (time.perf_counter() - start))
    latency.sort()  # the same summary as bench_serving.measure
    return {"p50_ms": round(statistics.median(latency), 2),
            "p99_ms": round(latency[min(len(latency) - 1, int(0.99 * len(latency)))], 2),
            "batch64_images_per_second": round(statistics.median(rates), 1)}  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--preset", choices=sorted(SHAPES), default="paper")
    p.add_argument("--mode", choices=("train", "infer", "params"), default="train")
    p.add_argument("--batch", type=int, default=64, help="training batch")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="batch-1 calls")
    p.add_argument("--batches", type=int, default=8, help="batch-64 calls")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="0: the cores this process may use")
    args = p.parse_args()
    torch.set_num_threads(args.threads or len(os.sched_getaffinity(0)))
    torch.manual_seed(args.seed)
    filters, units = SHAPES[args.preset]
    model = CRNN(filters, units)
    out = {"preset": args.preset, "mode": args.mode, "torch": torch.__version__,
           "threads": torch.get_num_threads(), **param_counts(model, units)}  # fmt: skip
    if args.mode == "train":
        out.update(time_train(model, args.batch, args.steps, args.warmup, args.seed))
    elif args.mode == "infer":
        out.update(time_infer(model, args.requests, args.batches, args.seed))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
