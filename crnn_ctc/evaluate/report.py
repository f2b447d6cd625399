"""Evaluate a trained model on validation TFRecords or on image-folder benchmarks.

    result = report.run(EvalConfig(model_dir="runs/small",
                                     anno_files=("real_eval/IIIT5K/labels.txt",)))
    print(report.format_table(result))
"""

from __future__ import annotations

import dataclasses
import os
import time

from absl import logging

from crnn_ctc.data import dataset_info, pipeline
from crnn_ctc.evaluate import contact_sheet, evaluation
from crnn_ctc.model import trained
from crnn_ctc.model.decoder import TALL_RATIO


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    model_dir: str
    checkpoint: str = "best"  # best | latest | a checkpoint path
    data_dir: str = ""  # TFRecords folder ...
    split: str = "validation"
    anno_files: tuple[str, ...] = ()  # ... and/or `path label` files
    image_dir: str = ""  # root of the paths in anno_files (default: each file's folder)
    beam_width: int = 0  # 0 = greedy
    case_sensitive: bool = False
    alnum_only: bool = True
    batch_size: int = 64
    # Image-folder sets: crops taller than this x their width are read turned too, as the
    # exported model reads them (model/turns.py); 0 = as they are. TFRecords hold resized
    # images, so their crops are read as they are.
    tall_ratio: float = TALL_RATIO


def _set_name(anno_file: str) -> str:
    base = os.path.splitext(os.path.basename(anno_file))[0]
    folder = os.path.basename(os.path.dirname(os.path.abspath(anno_file)))
    return folder if base == "labels" else f"{folder}/{base}"


def run(cfg: EvalConfig) -> dict:
    """-> {"checkpoint", "protocol", "sets": {name: {metrics, problems, predictions}},
    "total": micro-average metrics}."""
    if not cfg.data_dir and not cfg.anno_files:
        raise ValueError("nothing to evaluate: give --data_dir and/or --anno_file")
    model, mcfg, charset, path = trained.load_model(cfg.model_dir, cfg.checkpoint)
    logging.info("evaluating %s", path)
    protocol = {"case_sensitive": cfg.case_sensitive, "alnum_only": cfg.alnum_only}
    sets: dict = {}
    if cfg.data_dir:
        info = dataset_info.read_info(cfg.data_dir)
        if info.charset != charset:
            raise ValueError(
                f"charset mismatch: {cfg.model_dir}/config.json has {len(charset)} symbols, "
                f"{info.charset_file} has {len(info.charset)}"
            )
        size = (mcfg.image_height, mcfg.image_width)
        batches = pipeline.build_dataset(cfg.data_dir, cfg.split, size, training=False,
                                         batch_size=cfg.batch_size, rule=info.rule)
        sets[cfg.split] = _timed(model, batches, charset, cfg, protocol, [])
    rule = mcfg.rule
    for anno in cfg.anno_files:
        image_dir = cfg.image_dir or os.path.dirname(os.path.abspath(anno))
        entries, problems = evaluation.read_image_list(image_dir, anno)
        batches = evaluation.image_batches(entries, mcfg.image_height, mcfg.image_width,
                                           cfg.batch_size, problems, cfg.tall_ratio, rule)
        sets[_set_name(anno)] = _timed(model, batches, charset, cfg, protocol, problems)
    for name, result in sets.items():
        for problem in result["problems"]:
            logging.warning("%s: skipped %s", name, problem)
    return {"checkpoint": path, "resize": mcfg.resize,
            "protocol": {**protocol, "beam_width": cfg.beam_width, "tall_ratio": cfg.tall_ratio},
            "sets": sets, "total": _micro_average([s["metrics"] for s in sets.values()])}


def _timed(model, batches, charset, cfg: EvalConfig, protocol: dict, problems: list) -> dict:
    start = time.perf_counter()
    result = evaluation.evaluate(model, batches, charset, beam_width=cfg.beam_width, **protocol)
    result["metrics"]["seconds"] = round(time.perf_counter() - start, 2)
    result["problems"] = problems
    return result


def _micro_average(results: list[dict]) -> dict:
    count = sum(r["count"] for r in results)
    chars = sum(r["reference_chars"] for r in results)
    return {
        "count": count,
        "word_accuracy": sum(r["correct"] for r in results) / count if count else 0.0,
        "cer": sum(r["edit_distance"] for r in results) / chars if chars else 0.0,
    }


def format_table(report: dict) -> str:
    lines = [f"{'set':<24} {'images':>7} {'word acc':>9} {'CER':>7} {'skipped':>8}"]
    for name, s in report["sets"].items():
        m = s["metrics"]
        lines.append(f"{name:<24} {m['count']:>7} {100 * m['word_accuracy']:>8.2f}% "
                     f"{100 * m['cer']:>6.2f}% {len(s['problems']):>8}")
    t = report["total"]
    if len(report["sets"]) > 1:
        lines.append(f"{'total (micro)':<24} {t['count']:>7} {100 * t['word_accuracy']:>8.2f}% "
                     f"{100 * t['cer']:>6.2f}%")
    return "\n".join(lines)


def write_contact_sheets(report: dict, path: str, limit: int = 60) -> list[str]:
    """One contact sheet per image-folder set (TFRecord sets have no image files to show):
    ``path`` itself for a single set, else ``<path stem>_<set>.png`` -> the files written."""
    sets = {name: s for name, s in report["sets"].items()
            if s["predictions"] and os.path.isfile(s["predictions"][0]["path"])}
    written = []
    stem, ext = os.path.splitext(path)
    for name, s in sets.items():
        out = path if len(sets) == 1 else f"{stem}_{name.replace('/', '_')}{ext or '.png'}"
        m = s["metrics"]
        title = (f"{name}: {100 * m['word_accuracy']:.1f}% word accuracy, "
                 f"CER {100 * m['cer']:.1f}% on {m['count']} images (first {limit} shown)")
        contact_sheet.write(s["predictions"], out, title=title, limit=limit,
                            lines=report.get("resize") == "keep_aspect")
        written.append(out)
    return written
