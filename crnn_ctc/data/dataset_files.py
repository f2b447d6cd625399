"""What the converter leaves in --data_dir besides the shards, and how it clears old output.

  charset.txt    one symbol per line; id = line number; CTC blank id = number of lines
  dataset.json   counts per split, charset size, image shape, skipped counts by reason,
                 elapsed seconds, the flags used
  skipped.tsv    line, path, reason, detail: one row per line not written

With --num_tasks N > 1 every task writes ``dataset.task-0000T-of-0000N.json`` and
``skipped.task-0000T-of-0000N.tsv`` next to the shared shards, so tasks never overwrite each other.
"""

from __future__ import annotations

import csv
import glob
import json
import os
import shutil
from collections import Counter

from crnn_ctc.data import record_schema, splits

SKIPPED_HEADER = ("line", "path", "reason", "detail")
SORT_LIMIT = 1_000_000  # skipped.tsv is sorted by line number when it has at most this many rows


def write_json(path: str, obj) -> None:
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


class OutputPaths:
    def __init__(self, data_dir: str, task_index: int, num_tasks: int):
        self.data_dir = data_dir
        self.task_index = task_index
        self.num_tasks = num_tasks
        suffix = "" if num_tasks == 1 else f".task-{task_index:05d}-of-{num_tasks:05d}"
        self.dataset_json = os.path.join(data_dir, f"dataset{suffix}.json")
        self.skipped = os.path.join(data_dir, f"skipped{suffix}.tsv")
        self.skipped_tmp = os.path.join(data_dir, f".skipped{suffix}.tsv.tmp")
        self.charset = os.path.join(data_dir, "charset.txt")
        self.work_dir = os.path.join(data_dir, f".work{suffix}")

    def _owned(self, name: str, num_shards: dict[str, int]) -> bool:
        """A shard file this run replaces: ours, or from a run with another shard count."""
        m = record_schema.SHARD_RE.match(name)
        if not m or m["split"] not in splits.SPLITS:
            return False
        if int(m["total"]) != num_shards[m["split"]]:
            return True
        return splits.task_of_shard(int(m["index"]), self.num_tasks) == self.task_index

    def remove_stale(self, num_shards: dict[str, int]) -> list[str]:
        """Deletes the old output this task replaces (finished and half-written shards, its
        reports), so a re-run into the same folder leaves only the new files."""
        removed = []
        for name in sorted(os.listdir(self.data_dir)):
            shard = name[1:-4] if name.startswith(".") and name.endswith(".tmp") else name
            if self._owned(shard, num_shards):
                os.remove(os.path.join(self.data_dir, name))
                removed.append(name)
        reports = [self.dataset_json, self.skipped, self.skipped_tmp, self.skipped + ".part"]
        if self.num_tasks == 1:  # a single run replaces the reports of any earlier N-task run
            reports += glob.glob(os.path.join(self.data_dir, "dataset.task-*.json"))
            reports += glob.glob(os.path.join(self.data_dir, "skipped.task-*.tsv"))
        for path in reports:
            if os.path.exists(path):
                os.remove(path)
                removed.append(os.path.basename(path))
        shutil.rmtree(self.work_dir, ignore_errors=True)
        return removed


class Report:
    """Streams skipped rows to a temporary TSV and counts them by reason."""

    def __init__(self, tmp_path: str):
        self.tmp_path = tmp_path
        self._file = open(tmp_path, "w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, delimiter="\t", lineterminator="\n")
        self.by_reason: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def skip(self, line: int, path: str, reason: str, detail: str = "") -> None:
        self._writer.writerow((line, path, reason, detail))
        self.by_reason[reason] += 1

    def discard(self) -> None:
        self._file.close()
        os.remove(self.tmp_path)

    def finish(self, final_path: str) -> None:
        """Writes skipped.tsv (header, rows sorted by line when not huge)."""
        self._file.close()
        with open(self.tmp_path, encoding="utf-8", newline="") as src:
            with open(final_path + ".part", "w", encoding="utf-8", newline="") as dst:
                writer = csv.writer(dst, delimiter="\t", lineterminator="\n")
                writer.writerow(SKIPPED_HEADER)
                rows = csv.reader(src, delimiter="\t")
                if self.total <= SORT_LIMIT:
                    rows = sorted(rows, key=lambda r: int(r[0]))
                writer.writerows(rows)
        os.replace(final_path + ".part", final_path)
        os.remove(self.tmp_path)


class WorkFiles:
    """Per-shard lists of good lines on disk (memory stays bounded on 9M-line files)."""

    SEP = "\x1f"  # never in a path or label: both are free of control characters

    def __init__(self, work_dir: str, flush_lines: int):
        self.work_dir = work_dir
        self.flush_lines = flush_lines
        self._buffers: dict[tuple[str, int], list[str]] = {}
        self._buffered = 0
        os.makedirs(work_dir, exist_ok=True)

    def _path(self, key: tuple[str, int]) -> str:
        return os.path.join(self.work_dir, f"{key[0]}-{key[1]:05d}.txt")

    def add(self, key: tuple[str, int], line: int, path: str, label: str) -> None:
        self._buffers.setdefault(key, []).append(f"{line}{self.SEP}{path}{self.SEP}{label}\n")
        self._buffered += 1
        if self._buffered >= self.flush_lines:
            self.flush()

    def flush(self) -> None:
        for key, rows in self._buffers.items():
            with open(self._path(key), "a", encoding="utf-8", newline="") as f:
                f.writelines(rows)
        self._buffers.clear()
        self._buffered = 0

    def read(self, key: tuple[str, int]) -> list[tuple[int, str, str]]:
        path = self._path(key)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8", newline="") as f:
            rows = [row.rstrip("\n").split(self.SEP) for row in f]
        os.remove(path)
        return [(int(line), p, label) for line, p, label in rows]

    def remove(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


def summary(*, cfg, lines, charset, charset_source, written, num_shards, report, elapsed,
            max_ctc_steps, rule) -> dict:  # fmt: skip
    records = sum(s["records"] for s in written.values())
    squeezed = {}
    if rule.keeps_aspect:
        squeezed["squeezed"] = sum(s["squeezed"] for s in written.values())
    return {
        "splits": written,
        "records": records,
        "lines": lines,
        "skipped": dict(sorted(report.by_reason.items())),
        "skipped_total": report.total,
        "charset": {
            "file": "charset.txt",
            "size": len(charset),
            "blank_id": charset.blank_id,
            "num_classes": charset.num_classes,
            "source": charset_source,
        },
        "image": {
            "height": cfg["image_height"],
            "width": cfg["image_width"],
            "channels": 3,
            "format": cfg["image_format"],
        },
        "resize": rule.to_json(),  # resize_rule.py: every later stage follows it
        **squeezed,  # keep_aspect: records wider than the widest width, squeezed to it
        "max_ctc_steps": max_ctc_steps,
        "shard_files": {s: num_shards[s] for s in splits.SPLITS},
        "task": {"index": cfg["task_index"], "count": cfg["num_tasks"]},
        "elapsed_seconds": round(elapsed, 3),
        "images_per_second": round(records / elapsed, 1) if elapsed > 0 else None,
        "flags": cfg,
    }
