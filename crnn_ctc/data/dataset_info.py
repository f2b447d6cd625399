"""What a TFRecord folder holds, read back from the converter's reports: the charset, the image
size and the record counts, from dataset.json or, after a conversion on N machines, from the N
task reports ``dataset.task-0000T-of-0000N.json``.

    info = read_info("tfrecords/")     # DatasetInfo(charset, image_height, image_width, records)
    info.rule                          # its resize rule (resize_rule.py; stretch before it was)

A folder without reports, with a task report missing, or with task reports that disagree (image
size or format, charset, shard counts) is an error naming the files: training never guesses.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import re

from crnn_ctc.data.charset import Charset
from crnn_ctc.data.resize_rule import ResizeRule
from crnn_ctc.data.splits import SPLITS

TASK_REPORT = re.compile(r"^dataset\.task-(\d{5})-of-(\d{5})\.json$")
# What every task of one conversion must agree on.
SHARED = ("image", "resize", "charset", "shard_files")


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    data_dir: str
    charset: Charset
    charset_file: str
    image_height: int
    image_width: int
    records: dict  # split -> number of records
    resize: ResizeRule | None = None  # read_info fills it: stretch where dataset.json has none

    @property
    def rule(self) -> ResizeRule:
        return self.resize or ResizeRule("stretch", self.image_height, self.image_width)



def _load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _task_reports(data_dir: str) -> dict:
    """The N task reports merged into one dataset.json-like dict (records summed)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(data_dir, "dataset.task-*.json"))):
        m = TASK_REPORT.match(os.path.basename(path))
        if m:
            found[path] = (int(m[1]), int(m[2]))
    if not found:
        return {}
    counts = {n for _, n in found.values()}
    if len(counts) > 1:
        raise ValueError(f"task reports of different conversions in {data_dir} (num_tasks "
                         f"{sorted(counts)}): {', '.join(map(os.path.basename, found))}; convert "
                         "again into an empty --data_dir")
    (num_tasks,) = counts
    have = {index for index, _ in found.values()}
    missing = [f"dataset.task-{i:05d}-of-{num_tasks:05d}.json" for i in range(num_tasks)
               if i not in have]  # fmt: skip
    if missing:
        raise FileNotFoundError(f"{data_dir}: {', '.join(missing)} missing: a conversion task "
                                "did not finish; run create_tfrecord.py --task_index for it")
    reports = {path: _load(path) for path in found}
    first_path, first = next(iter(reports.items()))
    for path, report in reports.items():
        for key in SHARED:
            if report.get(key) != first.get(key):
                raise ValueError(f"{os.path.basename(path)} and {os.path.basename(first_path)} "
                                 f"disagree on {key}: {report.get(key)} vs {first.get(key)}; "
                                 "every task must run with the same flags")
    records = {s: sum(r["splits"].get(s, {}).get("records", 0) for r in reports.values())
               for s in SPLITS}  # fmt: skip
    return {**first, "splits": {s: {"records": n} for s, n in records.items()}}


def read_info(data_dir: str) -> DatasetInfo:
    """The folder's charset.txt and dataset.json (or task reports): image size, record counts."""
    charset_file = os.path.join(data_dir, "charset.txt")
    if not os.path.isfile(charset_file):
        raise FileNotFoundError(
            f"{charset_file} not found: --data_dir must be a folder written by create_tfrecord.py"
        )
    meta_file = os.path.join(data_dir, "dataset.json")
    meta = _load(meta_file) if os.path.isfile(meta_file) else _task_reports(data_dir)
    if not meta:
        raise FileNotFoundError(
            f"{meta_file} not found (nor dataset.task-*.json): the image size and record counts "
            "come from it; convert with create_tfrecord.py"
        )
    image, splits = meta["image"], meta.get("splits", {})
    return DatasetInfo(
        data_dir=data_dir,
        charset=Charset.from_file(charset_file),
        charset_file=charset_file,
        image_height=int(image["height"]),
        image_width=int(image["width"]),
        records={s: int(splits.get(s, {}).get("records", 0)) for s in SPLITS},
        resize=ResizeRule.from_json(meta.get("resize"), (int(image["height"]),
                                                        int(image["width"]))),
    )
