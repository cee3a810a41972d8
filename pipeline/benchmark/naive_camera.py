"""The loop a user would write with Ultralytics, one process per camera, for comparison:
`cv2.VideoCapture.read()` on every frame, `YOLO(...).track(frame, persist=True)` on every
Nth frame, `cv2.pointPolygonTest` on box anchors. Paced at real time; prints how far behind
real time the reader fell. Needs the `train` extra (Ultralytics):

    python -m pipeline.benchmark.naive_camera VIDEO --seconds 60
"""

from __future__ import annotations

import argparse
import json
import time

import cv2
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("video")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=8.0)
    parser.add_argument("--model", default="yolo11n.yaml", help="weights or a model yaml")
    parser.add_argument("--imgsz", type=int, default=640)
    args = parser.parse_args()
    from ultralytics import YOLO

    model = YOLO(args.model)
    cap = cv2.VideoCapture(args.video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    every = max(1, round(fps))  # one detection per second
    zone = np.array([[0, 360], [1280, 360], [1280, 720], [0, 720]], np.int32)
    started = time.monotonic()
    frame_no, behind, behind_warm, inside = 0, 0.0, None, 0
    while time.monotonic() - started < args.warmup + args.seconds:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        due = started + frame_no / fps
        behind = max(0.0, time.monotonic() - due)
        if behind == 0.0:
            time.sleep(due - time.monotonic() if due > time.monotonic() else 0)
        if behind_warm is None and time.monotonic() - started >= args.warmup:
            behind_warm = behind
        if frame_no % every == 0:
            result = model.track(frame, persist=True, verbose=False, imgsz=args.imgsz)[0]
            for x1, _y1, x2, y2 in result.boxes.xyxy.tolist():
                anchor = (float((x1 + x2) / 2), float(y2))
                inside += cv2.pointPolygonTest(zone, anchor, False) >= 0
        frame_no += 1
    print(json.dumps({"lag_growth_s": behind - (behind_warm or 0.0), "frames": frame_no}))


if __name__ == "__main__":
    main()
