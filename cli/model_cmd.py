"""`streetwatch model ...`: synthetic dataset, training, ONNX export with checks, evaluation,
int8 quantisation.

`train`, `export` and `eval` need the optional `train` extra (Ultralytics, torch); `quantize`
needs the `onnx` package. Those imports happen inside the commands so the runtime install can
still load this module.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.errors import InputError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "model", help="build the synthetic dataset, train, export and evaluate models"
    )
    msub = p.add_subparsers(dest="model_command", required=True, metavar="STEP")

    d = msub.add_parser("dataset", help="write a synthetic street dataset in YOLO format")
    d.add_argument("--out", type=Path, required=True, help="dataset folder")
    d.add_argument("--train", type=int, default=4000, help="training pictures")
    d.add_argument("--val", type=int, default=400, help="validation pictures")
    d.add_argument(
        "--imgsz", type=int, default=320, help="network size the labels are filtered for"
    )
    d.add_argument("--seed", type=int, default=1)
    d.set_defaults(func=run_dataset)

    t = msub.add_parser("train", help="train a YOLO detector (needs the train extra)")
    t.add_argument("--data", type=Path, required=True, help="data.yaml of the dataset")
    t.add_argument("--base", default="yolo11n.yaml", help="model .yaml (from scratch) or .pt")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--hours", type=float, default=None, help="fit training into this many hours")
    t.add_argument("--imgsz", type=int, default=320)
    t.add_argument("--batch", type=int, default=16)
    t.add_argument("--out", type=Path, default=Path("runs/streetwatch"))
    t.add_argument("--device", default="cpu")
    t.add_argument(
        "--threads", type=int, default=None, help="CPU threads for training (default: all)"
    )
    t.set_defaults(func=run_train)

    e = msub.add_parser("export", help="export .pt weights to ONNX and check it against PyTorch")
    e.add_argument("weights", type=Path)
    e.add_argument("--imgsz", type=int, default=320)
    group = e.add_mutually_exclusive_group()
    group.add_argument("--batch", type=int, default=1, help="fixed batch size (default 1)")
    group.add_argument("--dynamic", action="store_true", help="dynamic batch and image size")
    e.add_argument("--out", type=Path, default=None, help="ONNX file (default: next to weights)")
    e.add_argument("--no-check", action="store_true", help="skip the ONNX vs PyTorch checks")
    e.set_defaults(func=run_export)

    v = msub.add_parser("eval", help="mAP50 and mAP50-95 of a model (.onnx or .pt) on a dataset")
    v.add_argument("model", type=Path)
    v.add_argument("--data", type=Path, required=True)
    v.add_argument("--imgsz", type=int, default=320)
    v.set_defaults(func=run_eval)

    q = msub.add_parser(
        "quantize", help="write an int8 version of an ONNX model, calibrated on pictures"
    )
    q.add_argument("model", type=Path, help="float ONNX model")
    q.add_argument("--out", type=Path, required=True, help="int8 ONNX file to write")
    q.add_argument(
        "--calibration",
        type=Path,
        default=None,
        help="folder of pictures or a video from the camera (default: synthetic streets)",
    )
    q.add_argument("--pictures", type=int, default=64, help="calibration pictures (default 64)")
    q.add_argument(
        "--imgsz",
        type=int,
        default=None,
        help="network long side for a dynamic model (default: the exported size, else 640)",
    )
    q.set_defaults(func=run_quantize)

    s = msub.add_parser("scenario", help="write a synthetic demo street video with its truth")
    s.add_argument("--out", type=Path, default=Path("demo"), help="folder (default: ./demo)")
    s.add_argument("--seed", type=int, default=2024)
    s.add_argument("--duration", type=float, default=150.0, help="seconds")
    s.set_defaults(func=run_scenario)


def run_dataset(args: argparse.Namespace) -> int:
    from models.synthetic import write_dataset

    path = write_dataset(args.out, args.train, args.val, args.imgsz, args.seed)
    print(f"dataset    {path}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from models.train import TrainSettings, train

    settings = TrainSettings(
        data=args.data,
        base=args.base,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        out=args.out,
        hours=args.hours,
        device=args.device,
    )
    if args.threads is not None:
        if args.threads < 1:
            raise InputError(f"--threads {args.threads}: need at least one thread")
        settings.threads = args.threads
    weights = train(settings)
    print(f"weights    {weights}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from models.export import check_export, export_onnx

    onnx_path = export_onnx(args.weights, args.imgsz, args.batch, args.dynamic, args.out)
    print(f"onnx       {onnx_path} ({onnx_path.stat().st_size / 1e6:.1f} MB)")
    if args.no_check:
        return 0
    report = check_export(args.weights, onnx_path, args.imgsz)
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def run_eval(args: argparse.Namespace) -> int:
    from models.evaluate import evaluate

    metrics = evaluate(args.model, args.data, args.imgsz)
    print(f"mAP50      {metrics.map50:.4f}")
    print(f"mAP50-95   {metrics.map50_95:.4f}")
    for name, value in metrics.per_class.items():
        at_50 = metrics.per_class_50.get(name, float("nan"))
        print(f"  {name:12} mAP50 {at_50:.4f}  mAP50-95 {value:.4f}")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from models.quantize import calibration_pictures, check_paths, quantize_model

    check_paths(args.model, args.out)  # before minutes of reading calibration pictures
    pictures = calibration_pictures(args.calibration, args.pictures)
    report = quantize_model(args.model, args.out, pictures, args.imgsz)
    for line in report.lines():
        print(line)
    return 0


def run_scenario(args: argparse.Namespace) -> int:
    from models.scripted import write_bundle
    from models.synthetic_video import demo_scenario

    scene = demo_scenario(args.seed, duration_s=args.duration)
    files = write_bundle(scene, args.out, "street", every_n_frames=5)
    for kind, path in files.items():
        print(f"{kind:10} {path}")
    print(f"next: streetwatch process {files['video']} --config configs/demo.yaml")
    return 0
