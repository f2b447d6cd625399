"""Annotation file + images -> sharded TFRecords, charset.txt, dataset.json, skipped.tsv.

    from crnn_ctc.data import convert
    summary = convert.convert(convert.ConvertConfig(image_dir="test_data/images",
                                                    anno_file="test_data/image_list.txt"))

How it runs, with memory bounded whatever the number of lines:
  pass 1  parse every line (text only): count the good lines per split, build the charset
          from the labels when none is given, and decode a small sample of images to size
          the shards (~150 MB each).
  pass 2  parse again; report bad lines; append each good line to a small work file for its
          (split, shard), chosen by a hash of its path (splits.py), so duplicates of a path
          meet in one shard and the result does not depend on line order.
  write   shard by shard: drop duplicates (the first line wins), shuffle with --seed, fan the
          images out to worker processes in chunks, write the results in submission order to
          a hidden temporary file and rename it when the shard is complete.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import random
import sys
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass

from tqdm import tqdm

from crnn_ctc.data import annotations as anno
from crnn_ctc.data import charset as charset_lib
from crnn_ctc.data import convert_worker, ctc_steps, formats, record_schema, record_writer, splits
from crnn_ctc.data import dataset_files as outputs
from crnn_ctc.data.resize_rule import ResizeRule

TARGET_SHARD_BYTES = 150 * 2**20
tqdm.monitor_interval = 0  # no monitor thread: worker processes are forked later
SIZE_SAMPLE = 128  # images decoded in pass 1 to estimate the record size
CHUNK = 64  # images per task sent to a worker
FLUSH_LINES = 100_000  # work-file lines buffered in memory before an append


@dataclass(frozen=True)
class ConvertConfig:
    image_dir: str
    anno_file: str | None = None
    data_dir: str = "tfrecords"
    anno_format: str = "list"
    lexicon_file: str | None = None
    filename_pattern: str = anno.DEFAULT_FILENAME_PATTERN
    validation_split_fraction: float = 0.1
    num_shards: int = 0  # train shards; 0 = auto (~150 MB each)
    num_workers: int = 0  # 0 = every usable core
    charset: str | None = None  # preset name or charset file; None = from the labels
    lowercase: bool = False
    strip_unknown: bool = False  # drop label characters --charset lacks instead of the line
    image_height: int = 32
    image_width: int = 100  # stretch: the width; keep_aspect: the widest a crop may become
    resize: str = "stretch"  # resize_rule.RULES
    min_width: int = 0  # keep_aspect: narrower crops are stretched to it (0 = none)
    image_format: str = "jpeg"
    jpeg_quality: int = 95
    max_label_length: int = 0  # 0 = what the time steps allow (ctc_steps.py)
    max_image_pixels: int = formats.DEFAULT_MAX_PIXELS
    task_index: int = 0
    num_tasks: int = 1
    seed: int = 0
    progress: bool = True

    @property
    def rule(self) -> ResizeRule:
        return ResizeRule(self.resize, self.image_height, self.image_width, self.min_width)

    @property
    def max_ctc_steps(self) -> int:
        """The most steps a crop may give (keep_aspect: a crop at the widest width; each crop
        is then held to its own steps by the worker)."""
        return self.max_label_length or ctc_steps.time_steps(self.image_width)

    def validate(self) -> None:
        """Raises ValueError naming the bad value and the fix."""
        if self.anno_format not in anno.FORMATS:
            raise ValueError(
                f"--anno_format must be one of {anno.FORMATS}, not {self.anno_format!r}"
            )
        if self.anno_format == "filename":
            if self.anno_file:
                raise ValueError(
                    "--anno_format=filename reads labels from file names; drop --anno_file"
                )
        elif not self.anno_file or not os.path.isfile(self.anno_file):
            raise ValueError(f"--anno_file {self.anno_file!r} is not a file")
        if not os.path.isdir(self.image_dir):
            raise ValueError(f"--image_dir {self.image_dir!r} is not a directory")
        if self.lexicon_file and self.anno_format != "synth90k":
            raise ValueError("--lexicon_file is only used with --anno_format=synth90k")
        if self.strip_unknown and not self.charset:
            raise ValueError("--strip_unknown keeps the label characters of --charset: give "
                             "--charset (e.g. alnum_lower)")
        if not 0.0 <= self.validation_split_fraction <= 1.0:
            raise ValueError("--validation_split_fraction must be in [0, 1]")
        if not 0 <= self.task_index < self.num_tasks:
            raise ValueError(f"--task_index must be in [0, --num_tasks={self.num_tasks})")
        if self.image_format not in ("png", "jpeg"):
            raise ValueError(f"--image_format must be png or jpeg, not {self.image_format!r}")
        if min(self.image_height, self.image_width) < 1 or self.num_shards < 0:
            raise ValueError("image size must be positive and --num_shards >= 0")
        self.rule  # noqa: B018 (raises ValueError naming a bad --resize or --min_width)
        if self.max_ctc_steps < 1:
            raise ValueError(f"--image_width {self.image_width} gives no CTC time steps")


def iter_lines(cfg: ConvertConfig):
    """Every line (or file, for --anno_format=filename) as an Entry or a Skip."""
    if cfg.anno_format == "filename":
        yield from anno.iter_filename_entries(cfg.image_dir, cfg.filename_pattern, cfg.lowercase)
        return
    lexicon = anno.load_lexicon(cfg.lexicon_file) if cfg.lexicon_file else None
    parser = anno.LineParser(cfg.anno_format, cfg.lowercase, lexicon)
    for number, raw in anno.read_raw_lines(cfg.anno_file):
        yield parser.parse(number, raw)


def check(item, charset, max_steps, strip_unknown: bool = False):
    """An Entry that fits the charset and time steps, or a Skip. ``strip_unknown``: the label's
    characters outside ``charset`` are dropped first ("Lowe's" -> "Lowes" for a 36-symbol
    alphanumeric model, as the scene-text benchmarks score), and a label left empty is a
    Skip."""
    if isinstance(item, anno.Entry) and strip_unknown:
        unknown = charset.unknown(item.label)
        if unknown:
            kept = "".join(c for c in item.label if c not in unknown)
            if not kept:
                return anno.Skip(item.line, item.path, anno.EMPTY_LABEL,
                                 "nothing left after --strip_unknown: "
                                 f"{charset_lib.describe_chars(unknown)}")
            item = anno.Entry(item.line, item.path, kept)
    if isinstance(item, anno.Entry):
        reason, detail = anno.check_label_fits(item.label, charset, max_steps)
        if reason:
            return anno.Skip(item.line, item.path, reason, detail)
    return item


def _pass1(cfg: ConvertConfig, given: charset_lib.Charset | None):
    counts: Counter[str] = Counter()
    chars: set[str] = set()
    sample: list[anno.Entry] = []
    lines = 0
    for item in iter_lines(cfg):
        lines += 1
        item = check(item, given, cfg.max_ctc_steps, cfg.strip_unknown)
        if isinstance(item, anno.Entry):
            counts[splits.split_of(item.path, cfg.validation_split_fraction)] += 1
            chars.update(item.label)
            if len(sample) < SIZE_SAMPLE:
                sample.append(item)
    charset = given or charset_lib.Charset(sorted(chars))
    return lines, counts, charset, sample


def _shard_counts(cfg, counts, record_bytes) -> dict[str, int]:
    num = {}
    for split in splits.SPLITS:
        n = counts[split]
        if n == 0:
            num[split] = 0
        elif cfg.num_shards and split == splits.TRAIN:
            num[split] = cfg.num_shards
        elif cfg.num_shards:  # validation in proportion to train, at least one
            num[split] = max(1, -(-cfg.num_shards * n // max(counts[splits.TRAIN], 1)))
        else:
            num[split] = max(1, -(-n * record_bytes // TARGET_SHARD_BYTES))
    if num[splits.TRAIN] and not cfg.num_shards:
        num[splits.TRAIN] = max(num[splits.TRAIN], cfg.num_tasks)  # every task gets work
    return num


def _estimate_record_bytes(processor, sample) -> int:
    results = processor.process([(e.line, e.path, e.label) for e in sample])
    sizes = [len(r[2]) for r in results if r[2] is not None]
    return sum(sizes) // len(sizes) if sizes else 10_000


def _dedupe_shuffle(items, seed: str, report: outputs.Report) -> list:
    """items: (line, path, label) of one shard. Keeps the first line of each path."""
    items.sort()
    first: dict[str, tuple[int, str]] = {}
    kept = []
    for line, path, label in items:
        if path in first:
            line0, label0 = first[path]
            detail = f"same path as line {line0}"
            if label != label0:
                detail += f" (whose label {label0!r} was kept over {label!r})"
            report.skip(line, path, anno.DUPLICATE, detail)
        else:
            first[path] = (line, label)
            kept.append((line, path, label))
    kept.sort(key=lambda item: item[1])  # by path: the order no longer depends on the file
    random.Random(seed).shuffle(kept)
    return kept


def convert(cfg: ConvertConfig) -> dict:
    """Runs the conversion; returns the dataset.json summary. Raises ValueError on bad flags."""
    cfg.validate()
    start = time.monotonic()
    given = charset_lib.Charset.from_spec(cfg.charset) if cfg.charset else None
    os.makedirs(cfg.data_dir, exist_ok=True)

    lines, counts, charset, sample = _pass1(cfg, given)
    wcfg = convert_worker.WorkerConfig(
        cfg.image_dir, cfg.image_height, cfg.image_width, cfg.image_format,
        cfg.jpeg_quality, cfg.max_image_pixels, charset.symbols, cfg.resize, cfg.min_width,
    )  # fmt: skip
    processor = convert_worker.Processor(wcfg)
    record_bytes = _estimate_record_bytes(processor, sample) if not cfg.num_shards else 0
    num_shards = _shard_counts(cfg, counts, record_bytes)

    paths = outputs.OutputPaths(cfg.data_dir, cfg.task_index, cfg.num_tasks)
    paths.remove_stale(num_shards)
    report = outputs.Report(paths.skipped_tmp)
    work = outputs.WorkFiles(paths.work_dir, FLUSH_LINES)
    try:
        todo = _pass2(cfg, charset, num_shards, report, work)
        written = _write_shards(cfg, wcfg, processor, num_shards, work, report, todo)
    except BaseException:
        report.discard()
        raise
    finally:
        work.remove()
    report.finish(paths.skipped)
    charset.save(paths.charset)  # every task writes the same file, atomically
    summary = outputs.summary(
        cfg=asdict(cfg), lines=lines, charset=charset, charset_source=cfg.charset or "labels",
        written=written, num_shards=num_shards, report=report,
        elapsed=time.monotonic() - start, max_ctc_steps=cfg.max_ctc_steps, rule=cfg.rule,
    )  # fmt: skip
    outputs.write_json(paths.dataset_json, summary)
    return summary


def _pass2(cfg, charset, num_shards, report, work) -> int:
    """Reports bad lines and routes good ones to work files; returns this task's good lines."""
    todo = 0
    for item in iter_lines(cfg):
        item = check(item, charset, cfg.max_ctc_steps, cfg.strip_unknown)
        if isinstance(item, anno.Skip):
            if splits.task_of_line(item.line, cfg.num_tasks) == cfg.task_index:
                report.skip(item.line, item.path, item.reason, item.detail)
            continue
        split, shard = splits.assign(item.path, cfg.validation_split_fraction, num_shards)
        if splits.task_of_shard(shard, cfg.num_tasks) == cfg.task_index:
            work.add((split, shard), item.line, item.path, item.label)
            todo += 1
    work.flush()
    return todo


def _num_workers(cfg) -> int:
    return cfg.num_workers or len(os.sched_getaffinity(0))


def _chunks(cfg, num_shards, work, report):
    """Yields (shard key, chunk, is the shard's last chunk) for this task's shards, in order."""
    for split in splits.SPLITS:
        for shard in range(num_shards[split]):
            if splits.task_of_shard(shard, cfg.num_tasks) != cfg.task_index:
                continue
            key = (split, shard)
            items = _dedupe_shuffle(work.read(key), f"{cfg.seed}/{split}/{shard}", report)
            pieces = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)] or [[]]
            for i, piece in enumerate(pieces):
                yield key, piece, i == len(pieces) - 1


def _mp_context():
    """fork where it is safe (Linux, TensorFlow not loaded: the converter never imports it),
    as workers then start in milliseconds; otherwise spawn."""
    if sys.platform == "linux" and "tensorflow" not in sys.modules:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _write_shards(cfg, wcfg, processor, num_shards, work, report, todo) -> dict:
    """Processes this task's shards; returns {split: {"records", "bytes", "shards"}}."""
    written = {s: {"records": 0, "bytes": 0, "shards": num_shards[s]} for s in splits.SPLITS}
    if cfg.rule.keeps_aspect:  # records squeezed to the widest width, per split
        for s in splits.SPLITS:
            written[s]["squeezed"] = 0
    workers = _num_workers(cfg)
    pool = None
    if workers > 1:
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, _mp_context(),
            initializer=convert_worker.init_worker, initargs=(wcfg,),
        )  # fmt: skip
    bar = tqdm(total=todo, unit="img", disable=not cfg.progress, dynamic_ncols=True)
    window: deque = deque()
    writer = None
    try:

        def drain_one():
            nonlocal writer
            (split, shard), future, last = window.popleft()
            if writer is None:
                name = record_schema.shard_name(split, shard, num_shards[split])
                writer = record_writer.ShardWriter(cfg.data_dir, name)
            results = future.result() if pool else future
            for line, path, framed, reason, detail in results:
                if framed is None:
                    report.skip(line, path, reason, detail)
                else:
                    writer.write(framed)
                    if reason == convert_worker.SQUEEZED:
                        written[split]["squeezed"] += 1
            bar.update(len(results))
            bar.set_postfix(skipped=report.total, refresh=False)
            if last:
                written[split]["records"] += writer.records
                written[split]["bytes"] += writer.bytes
                writer.close()
                writer = None

        for key, piece, last in _chunks(cfg, num_shards, work, report):
            job = pool.submit(convert_worker.process_in_worker, piece) if pool else None
            window.append((key, job if pool else processor.process(piece), last))
            if len(window) >= 4 * workers:
                drain_one()
        while window:
            drain_one()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
        if pool:
            pool.shutdown(wait=True, cancel_futures=True)
    return written
