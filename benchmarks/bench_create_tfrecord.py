"""Benchmark: tools/create_tfrecord.py against a plain serial loop (the TF1 seed's converter).

    .venv/bin/python benchmarks/bench_create_tfrecord.py                 # 6000 images, 3 repeats
    .venv/bin/python benchmarks/bench_create_tfrecord.py --num_images 300 --repeats 1   # smoke

Prints one JSON object (and writes it to --out when given). What it does:

  data       N Synth90k-like word images (JPEG q80-95, height 24-64 px, width of the rendered
             word, 40-400 px), rendered with Pillow and DejaVu fonts from a fixed seed, cached
             in benchmarks/results/data_<N>/ (git-ignored) with an image_list.txt. Not timed.
  serial     ``serial_loop``: the TF1 seed's converter loop, one process, one
             tf.io.TFRecordWriter: for each line split it, cv2.imread, skip if None,
             cv2.resize to 100x32, cv2.imencode('.jpg'), tf.train.Example(labels, images,
             imagenames), write. Runs in its own subprocess (its own TensorFlow import).
  ours       ``python tools/create_tfrecord.py --num_workers W --progress=false`` for W = 1, 2
             (JPEG q95 4:4:4, the default; the serial loop writes JPEG too) and W = 2 with
             --image_format png (lossless).

Each configuration is timed two ways: whole-process wall time (time.perf_counter around
subprocess.run: interpreter start, imports, conversion, exit) and in-process conversion time
(ours: dataset.json's elapsed_seconds; serial: the loop time the subprocess prints, imports
excluded). Configurations run round-robin, --repeats times each; medians are reported with
every run. Speed-up = ours images/s / serial images/s on each measure. Records are counted
from the written files' TFRecord framing (no TensorFlow), and ours must write all N (exit 1
otherwise). The serial loop's subprocess is this file run as ``--serial_worker IMAGE_DIR
ANNO_FILE OUT_FILE``; it prints its own timing as JSON.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import importlib.metadata
import json
import multiprocessing
import os
import platform
import random
import shutil
import statistics
import string
import struct
import subprocess
import sys
import tempfile
import time

import crnn_ctc  # noqa: F401 (before TensorFlow loads anywhere: sets its oneDNN default)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
TOOL = os.path.join(REPO, "tools", "create_tfrecord.py")
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
GENERATOR_VERSION = 1  # bump when the rendering changes, so cached data is regenerated

WORDS = [
    "the", "and", "for", "with", "from", "this", "that", "about", "world", "hello", "station",
    "coffee", "receipt", "invoice", "total", "parking", "street", "london", "museum", "hotel",
    "bakery", "pharmacy", "platform", "delivery", "future", "available", "heretical",
    "aftershave", "lariat", "reinfection", "conjugation", "tangibility", "commercializing",
    "shortages", "horsetrading", "exit", "sale", "open", "closed", "menu", "breakfast",
    "welcome", "entrance", "market", "garden", "library", "university", "hospital", "airport",
    "restaurant", "information", "department", "emergency", "telephone", "newspaper",
    "chocolate", "vegetable", "mountain", "river", "bridge", "castle", "village", "computer",
    "keyboard", "network", "tensor", "serving", "recognition", "sequence", "character",
    "quickly", "beautiful", "yesterday", "tomorrow", "november", "december", "saturday",
    "sunday", "number", "question", "answer", "window", "kitchen", "yellow", "purple",
]  # fmt: skip
ALNUM = string.ascii_letters + string.digits


# -- data ---------------------------------------------------------------------------------
def _label(rng: random.Random) -> str:
    if rng.random() < 0.7:
        word = rng.choice(WORDS)
        case = rng.random()
        if case < 0.2:
            return word.upper()
        if case < 0.5:
            return word.capitalize()
        return word
    return "".join(rng.choice(ALNUM) for _ in range(rng.randint(1, 12)))


def _font(rng: random.Random, size: int):
    from PIL import ImageFont  # noqa: PLC0415 (only the generator needs Pillow)

    fonts = sorted(glob.glob(os.path.join(FONT_DIR, "DejaVu*.ttf")))
    fonts = [f for f in fonts if "MathTeX" not in f]
    if fonts:
        return ImageFont.truetype(rng.choice(fonts), size)
    return ImageFont.load_default(size)


def render(label: str, rng: random.Random):
    """One word image (PIL RGB), height 24-64 px, width 40-400 px."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image, ImageDraw, ImageFilter  # noqa: PLC0415

    height = rng.randint(24, 64)
    font = _font(rng, rng.randint(28, 64))
    left, top, right, bottom = font.getbbox(label)
    pad_x, pad_y = rng.randint(2, 16), rng.randint(2, 12)
    w, h = max(right - left, 1) + 2 * pad_x, max(bottom - top, 1) + 2 * pad_y
    dark_bg = rng.random() < 0.25
    lo, hi = (0, 110) if dark_bg else (130, 255)
    bg = np.array([rng.randint(lo, hi) for _ in range(3)], np.float32)
    grad_x = np.linspace(0, rng.uniform(-50, 50), w, dtype=np.float32)[None, :, None]
    grad_y = np.linspace(0, rng.uniform(-30, 30), h, dtype=np.float32)[:, None, None]
    noise_rng = np.random.default_rng(rng.getrandbits(63))
    noise = noise_rng.normal(0, rng.uniform(2, 14), (h, w, 1 if rng.random() < 0.7 else 3))
    im = Image.fromarray(np.clip(bg + grad_x + grad_y + noise, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    lo, hi = (150, 255) if dark_bg else (0, 100)
    fg = tuple(rng.randint(lo, hi) for _ in range(3))
    if rng.random() < 0.15:  # a distractor line, as in cropped scene text
        y = rng.randint(0, h - 1)
        draw.line([(0, y), (w, y + rng.randint(-3, 3))], fill=fg, width=rng.randint(1, 2))
    draw.text((pad_x - left, pad_y - top), label, font=font, fill=fg)
    if rng.random() < 0.7:
        im = im.rotate(
            rng.uniform(-4, 4), resample=Image.BILINEAR, fillcolor=tuple(int(c) for c in bg)
        )
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 1.3)))
    width = min(max(round(w * height / h * rng.uniform(0.85, 1.15)), 40), 400)
    return im.resize((width, height), Image.BILINEAR)


def _generate_one(job: tuple[int, int, str]) -> tuple[str, str, int]:
    index, seed, root = job
    rng = random.Random(f"{seed}/{index}")  # str seeds are hashed: the same on every run
    label = _label(rng)
    rel = f"{index // 1000}/{index // 100 % 10}/{index}_{label}_{rng.randint(0, 88171)}.jpg"
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    render(label, rng).save(path, quality=rng.randint(80, 95))
    return rel, label, os.path.getsize(path)


def ensure_data(num_images: int, seed: int) -> tuple[str, dict]:
    """Returns (data dir, info); renders the images unless a matching cache exists."""
    root = os.path.join(RESULTS, f"data_{num_images}")
    meta_path = os.path.join(root, "meta.json")
    want = {"num_images": num_images, "seed": seed, "generator_version": GENERATOR_VERSION}
    if os.path.isfile(meta_path) and os.path.isfile(os.path.join(root, "image_list.txt")):
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
        if all(meta.get(k) == v for k, v in want.items()):
            return root, {**meta, "cached": True}
    os.makedirs(RESULTS, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".data_{num_images}_", dir=RESULTS)
    start = time.perf_counter()
    jobs = [(i, seed, tmp) for i in range(num_images)]
    with multiprocessing.get_context("spawn").Pool(len(os.sched_getaffinity(0))) as pool:
        rows = pool.map(_generate_one, jobs, chunksize=64)
    with open(os.path.join(tmp, "image_list.txt"), "w", encoding="utf-8") as f:
        f.writelines(f"{rel} {label}\n" for rel, label, _ in rows)
    meta = {
        **want,
        "generation_seconds": round(time.perf_counter() - start, 1),
        "total_image_bytes": sum(size for _, _, size in rows),
        "mean_label_length": round(statistics.mean(len(label) for _, label, _ in rows), 2),
    }
    with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1)
    shutil.rmtree(root, ignore_errors=True)
    os.replace(tmp, root)
    return root, {**meta, "cached": False}


def emit(result: dict, out: str) -> None:
    """Prints a benchmark's JSON result and saves it to ``out``."""
    text = json.dumps(result, indent=1)
    print(text)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        f.write(text + "\n")


def warm_page_cache(root: str) -> None:
    """Reads every image once, so no configuration pays for the first read from disk."""
    with open(os.path.join(root, "image_list.txt"), encoding="utf-8") as f:
        for line in f:
            with open(os.path.join(root, line.split()[0]), "rb") as img:
                img.read()


# -- the serial baseline (runs in its own subprocess) -------------------------------------
def serial_loop(image_dir: str, anno_file: str, out_file: str) -> dict:
    """The TF1 seed's converter loop, one process, one writer. Returns its own timing."""
    start_import = time.perf_counter()
    import cv2  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    start = time.perf_counter()
    with open(anno_file, encoding="utf-8") as f:
        lines = f.readlines()
    # The seed loads a prepared char_map.json; here the same map is built from the labels.
    chars = sorted({c for line in lines if len(line.split()) > 1 for c in line.split()[1].lower()})
    char_map = {c: i for i, c in enumerate(chars)}
    records = skipped = 0
    with tf.io.TFRecordWriter(out_file) as writer:
        for line in lines:
            parts = line.strip().split()
            if len(parts) < 2:
                skipped += 1
                continue
            image_name, label = parts[0], parts[1].lower()
            image = cv2.imread(os.path.join(image_dir, image_name))
            if image is None:
                skipped += 1
                continue  # skip bad image
            image = cv2.resize(image, (100, 32))
            ok, buffer = cv2.imencode(".jpg", image)
            if not ok:
                skipped += 1
                continue
            features = tf.train.Features(
                feature={
                    "labels": tf.train.Feature(
                        int64_list=tf.train.Int64List(value=[char_map[c] for c in label])
                    ),
                    "images": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[buffer.tobytes()])
                    ),
                    "imagenames": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[image_name.encode("utf-8")])
                    ),
                }
            )
            writer.write(tf.train.Example(features=features).SerializeToString())
            records += 1
    loop = time.perf_counter() - start
    return {
        "loop_seconds": loop,
        "import_seconds": start - start_import,
        "records": records,
        "skipped": skipped,
    }


# -- running and measuring ------------------------------------------------------------------
def count_records(paths: list[str]) -> tuple[int, int]:
    """(records, bytes) in TFRecord files, by walking the length framing."""
    records = total = 0
    for path in paths:
        with open(path, "rb") as f:
            while header := f.read(12):
                (length,) = struct.unpack("<Q", header[:8])
                f.seek(length + 4, os.SEEK_CUR)
                records += 1
        total += os.path.getsize(path)
    return records, total


def _env() -> dict:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONDONTWRITEBYTECODE": "1"}


def _run(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise RuntimeError(f"exit status {proc.returncode}: {' '.join(cmd)}")
    return wall, proc


def run_serial(data: str, out_dir: str) -> dict:
    out_file = os.path.join(out_dir, "train.tfrecord")
    cmd = [sys.executable, os.path.abspath(__file__), "--serial_worker",
           data, os.path.join(data, "image_list.txt"), out_file]  # fmt: skip
    wall, proc = _run(cmd)
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    records, size = count_records([out_file])
    return {
        "wall_s": wall,
        "inproc_s": inner["loop_seconds"],
        "import_s": inner["import_seconds"],
        "records": records,
        "records_reported": inner["records"],
        "skipped": inner["skipped"],
        "output_bytes": size,
    }


def run_ours(data: str, out_dir: str, workers: int, image_format: str) -> dict:
    anno_file = os.path.join(data, "image_list.txt")
    cmd = [sys.executable, TOOL, f"--image_dir={data}", f"--anno_file={anno_file}",
           f"--data_dir={out_dir}", f"--num_workers={workers}", f"--image_format={image_format}",
           "--progress=false"]  # fmt: skip
    wall, _ = _run(cmd)
    with open(os.path.join(out_dir, "dataset.json"), encoding="utf-8") as f:
        summary = json.load(f)
    records, size = count_records(sorted(glob.glob(os.path.join(out_dir, "*.tfrecord"))))
    return {
        "wall_s": wall,
        "inproc_s": summary["elapsed_seconds"],
        "records": records,
        "records_reported": summary["records"],
        "skipped": summary["skipped_total"],
        "output_bytes": size,
        "shards": summary["shard_files"],
    }


CONFIGS = {
    "serial_loop": ("TF1 seed loop: cv2 read/resize 100x32/JPEG, tf.train.Example, one "
                    "TFRecordWriter, one process", None),
    "ours_w1_jpeg": ("tools/create_tfrecord.py --num_workers 1 (JPEG, default)", (1, "jpeg")),
    "ours_w2_jpeg": ("tools/create_tfrecord.py --num_workers 2 (JPEG, default)", (2, "jpeg")),
    "ours_w2_png": ("tools/create_tfrecord.py --num_workers 2 --image_format png", (2, "png")),
}  # fmt: skip


def machine_info() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    versions = {}
    for dist in ("tensorflow", "tensorflow-cpu", "opencv-python-headless", "pillow", "numpy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            pass
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                         text=True).stdout.strip()  # fmt: skip
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True).stdout.strip()
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            line = next((ln for ln in f if ln.startswith("flags")), ":")
        flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {
        # The flags that decide bf16/fp32 speed (train/strategy.choose_precision).
        "cpu_flags": sorted(f for f in flags if f.startswith(("avx512", "amx")) or
                            f in ("avx2", "fma", "f16c")),
        "platform": platform.platform(),
        "cpu_count": len(os.sched_getaffinity(0)),
        "cpu_count_total": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "tensorflow": versions.get("tensorflow") or versions.get("tensorflow-cpu"),
        "packages": versions,
        "git_commit": git + ("+uncommitted" if dirty else ""),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _median_block(runs: list[dict], n: int) -> dict:
    wall = statistics.median(r["wall_s"] for r in runs)
    inproc = statistics.median(r["inproc_s"] for r in runs)
    return {
        "wall_s": round(wall, 3),
        "inproc_s": round(inproc, 3),
        "wall_images_per_s": round(statistics.median(n / r["wall_s"] for r in runs), 1),
        "inproc_images_per_s": round(statistics.median(n / r["inproc_s"] for r in runs), 1),
    }


def benchmark(args) -> dict:
    data, data_info = ensure_data(args.num_images, args.seed)
    n = args.num_images
    warm_page_cache(data)
    # Untimed: load TensorFlow's and our modules from disk once, so run 1 is not a cold start.
    subprocess.run([sys.executable, "-c", "import cv2, tensorflow"], env=_env(), check=True,
                   capture_output=True)  # fmt: skip
    subprocess.run([sys.executable, TOOL, "--help"], cwd=REPO, env=_env(), capture_output=True)

    runs: dict[str, list[dict]] = {name: [] for name in CONFIGS}
    for repeat in range(args.repeats):
        for name, (_, spec) in CONFIGS.items():  # round-robin: drift hits every config alike
            out_dir = tempfile.mkdtemp(prefix=f"run_{name}_", dir=RESULTS)
            try:
                run = run_serial(data, out_dir) if spec is None else run_ours(data, out_dir, *spec)
            finally:
                shutil.rmtree(out_dir, ignore_errors=True)
            run = {k: round(v, 3) if isinstance(v, float) else v for k, v in run.items()}
            run["wall_images_per_s"] = round(n / run["wall_s"], 1)
            run["inproc_images_per_s"] = round(n / run["inproc_s"], 1)
            runs[name].append(run)
            print(f"[{repeat + 1}/{args.repeats}] {name}: wall {run['wall_s']:.2f} s, "
                  f"in-process {run['inproc_s']:.2f} s, {run['records']} records",
                  file=sys.stderr)  # fmt: skip

    configs = {
        name: {"description": desc, "runs": runs[name], "median": _median_block(runs[name], n)}
        for name, (desc, _) in CONFIGS.items()
    }
    base = configs["serial_loop"]["median"]
    speedups = {
        name: {
            "wall": round(c["median"]["wall_images_per_s"] / base["wall_images_per_s"], 2),
            "inproc": round(c["median"]["inproc_images_per_s"] / base["inproc_images_per_s"], 2),
        }
        for name, c in configs.items()
        if name != "serial_loop"
    }
    correctness = {
        name: {
            "records": [r["records"] for r in runs[name]],
            "expected": n,
            "ok": all(r["records"] == n == r["records_reported"] for r in runs[name]),
        }
        for name in CONFIGS
    }
    correctness["serial_loop"]["skipped"] = [r["skipped"] for r in runs["serial_loop"]]
    return {
        "benchmark": "create_tfrecord",
        "machine": machine_info(),
        "num_images": n,
        "repeats": args.repeats,
        "data": {"dir": os.path.relpath(data, REPO), **data_info},
        "measures": {
            "wall": "whole subprocess (interpreter start, imports, conversion, exit); "
            "perf_counter around subprocess.run",
            "inproc": "conversion only: ours = dataset.json elapsed_seconds, serial = its loop "
            "time without imports",
            "images_per_s": "num_images / seconds, median over runs",
            "speedup": "ours images/s / serial_loop images/s (medians), per measure",
        },
        "configs": configs,
        "speedup_vs_serial": speedups,
        "correctness": correctness,
    }


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--serial_worker":
        print(json.dumps(serial_loop(*sys.argv[2:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num_images", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated images")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args()
    if args.num_images < 1 or args.repeats < 1:
        parser.error("--num_images and --repeats must be >= 1")
    result = benchmark(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 0 if all(c["ok"] for k, c in result["correctness"].items() if k != "serial_loop") else 1


if __name__ == "__main__":
    sys.exit(main())
