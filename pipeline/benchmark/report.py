"""docs/performance.md from a bench run's results, so the figures in the docs are always the
ones a command produced."""

from __future__ import annotations

from typing import Any


def performance_markdown(results: dict[str, Any], command: str) -> str:
    m = results["machine"]
    o = results["overhead"]
    d = results["density"]
    lat = results["latency"]
    lines = [
        "# Performance",
        "",
        f"Measured {m['date']} on {m['cpus']} CPUs ({m['processor']}, Python {m['python']}) with",
        *_commands(results, command),
        f"Model `{results['model']}` (YOLO11n-sized, 640 px).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| bare `InferenceSession.run` (the backend's input shape, 384 x 640 for 720p) | "
        f"{o['bare_fps']} frames/s |",
        "| our ONNX backend (letterbox + inference + decode + NMS, 720p in) | "
        f"{o['backend_fps']} frames/s |",
        f"| detector overhead ratio | {o['ratio']} |",
        f"| cameras sustained (720p 25 fps H.264, 1 detection/s{_crop_note(results)}) | "
        f"{d['cameras']} |",
        f"| alert latency to a WebSocket client, p50 / p95 (sampling interval "
        f"{lat.get('sampling_interval_s')} s apart) | "
        f"{lat.get('p50_s')} s / {lat.get('p95_s')} s ({lat.get('alerts')} alerts) |",
    ]
    int8 = results.get("density_int8")
    if int8 is not None:
        lines.append(f"| cameras sustained with the int8 model | {int8['cameras']} |")
    if "naive" in results:
        naive = results["naive"]["cameras"]
        ours = [(d["cameras"], "")] + ([(int8["cameras"], " int8")] if int8 is not None else [])
        ratio = ", ".join(f"{n / naive:.1f} x{kind}" for n, kind in ours) if naive else "n/a"
        lines.append(f"| naive Ultralytics loop, cameras sustained | {naive} (ours: {ratio}) |")
    lines += _sessions_rows(results.get("sessions"))
    if int8 is not None and len(results.get("runs", [])) > 1:
        lines += [
            "",
            "Figures from different runs are comparable only if the machine ran at the same",
            "speed, which on a shared VM it may not: the stage costs time float and int8",
            "inference in one run.",
        ]
    lines += ["", "## Stage costs (ms)", "", "| stage | ms |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in results["stages_ms"].items()]
    lines += ["", "## Density trials", "", *_trial_table(d)]
    if int8 is not None:
        lines += ["", "## Density trials, int8 model", "", *_trial_table(int8)]
    lines += [
        "",
        "Sources are the benchmark's synthetic 720p 25 fps H.264 street (a keyframe every second),",
        "looped and paced at real time; one process, the PyAV reader decoding keyframes only,",
        "one shared detector as `serve` builds it (`detector.sessions`: by default one",
        "single-threaded inference session per core, each taking the next queued frame from",
        'any camera). "Sustained": the readers\' lag',
        "grows by less than 2 s, analysis ends the trial less than 2 s behind, and every camera",
        "keeps at least 0.9 detections per second. The benchmark model has random weights: it",
        "costs what a trained YOLO11n costs but detects nothing, so these cameras start no",
        "timers and encode no pictures; a busy street costs a little more per camera (tracking",
        "and rules about 1 ms a sample, and a JPEG of about 3 ms when a timer outlives a sample).",
        "RSS per camera is the growth of the process's resident memory during a trial divided by",
        "its cameras; trials after the first reuse memory the earlier ones freed, so the first",
        "trial's figure is the honest one.",
        "",
    ]
    return "\n".join(lines) + "\n" + TECHNIQUES


def _sessions_rows(ab: dict[str, Any] | None) -> list[str]:
    if ab is None:
        return []

    def row(trial: dict[str, Any]) -> str:
        verdict = "sustained" if trial["sustained"] else "not sustained"
        return (
            f"| int8, {ab['cameras']} cameras, {trial['sessions']} session(s) of "
            f"{trial['threads']} thread(s) (60 s) | {verdict}: min "
            f"{trial['min_detections_per_s']} detections/s, analysis lag "
            f"{trial['analysis_lag_s']} s, {trial['cpu_cores']} cores busy |"
        )

    return [row(ab["one_session"]), row(ab["default_sessions"])]


TECHNIQUES = """## Techniques kept, and two left off by default

- **One single-threaded inference session per core**, shared by all cameras through one
  queue (`detector.sessions`, default 0 = one per core): one session with every core as
  its intra-op threads leaves part of the cores idle (its threads wait for each other
  between operators, and for the Python work around each call); compare the two int8 rows
  of the table above, measured back to back. A worker takes one model call's frames from
  the queue (`detector.batch`, default 1), so no frame waits behind a busy worker.

- **Less work per camera outside inference**: a sampled frame is JPEG-encoded only when a
  picture is needed (a timer that outlives one sample, an alert, a spot seen clear, the
  zone editor), not for every sample; a healthy camera's tamper check runs on every other
  sample (every sample once one looks wrong); packets reach the analysis thread in bunches
  (with each frame due for detection, else every 12) instead of one wake-up per packet.
  The bench has not isolated what these gain: the int8 density rose from 41 to 56 between
  runs hours apart, while the naive loop fell from 15 to 13 and the float density from 32
  to 29, so the machine's speed moved too.

- **Rect input** (`detector.rect`, on by default for dynamic-size models): 720p frames go in
  as 384 x 640 instead of 640 x 640, at the same scale; compare `inference` with
  `inference_square_input` in the stage costs. The demo scenario's scores did not change.
- **Keyframe decoding** (PyAV reader, `decode: auto`): see `decode_pyav_per_keyframe`
  against 25 x `decode_opencv_every_frame` in the stage costs.
- **Int8 model** (`streetwatch model quantize`, opt-in: point `detector.model` at the
  int8 file): static int8 with ONNX Runtime, per-channel weights, the head's decoding kept
  float; compare `inference_timed_alone` with `inference_int8_timed_alone`, and the int8
  density trials. On the demo model at 416 px it kept mAP50 (0.914 against 0.915) and met
  the event targets on the four demo seeds (`models/demo/MODEL_CARD.md`); check a real
  model with `streetwatch eval` before switching.
- **Zone rows only** (camera `crop_to_zones`, off by default): the detector sees the band
  of rows the zones need, 288 x 640 here; compare `inference_zone_rows_input`. With the
  demo model at 416 px it missed events on two of the four demo seeds (2024: a stall,
  recall 0.938; 11: a car, recall 0.929, and one false alarm); without it none is missed: the
  small synthetic model's detections shift when the picture's context is cut. Turn it on
  per camera after checking `streetwatch eval` on that camera's footage;
  `streetwatch bench --crop-to-zones` measures the density it gives.
"""


def _trial_table(density: dict[str, Any]) -> list[str]:
    lines = [
        "| cameras | sustained | reader lag growth s | "
        "analysis lag s | min detections/s | CPU % per camera | RSS MB per camera |",
        "|---|---|---|---|---|---|---|",
    ]
    trials = list(density.get("trials", [])) + list(density.get("confirmations_300s", []))
    if "confirmation_300s" in density:
        trials.append(density["confirmation_300s"])
    for t in trials:
        cells = [
            f"{t['cameras']} ({t['seconds']:.0f} s)",
            t["sustained"],
            t["reader_lag_growth_s"],
            t["analysis_lag_s"],
            t["min_detections_per_s"],
            t["cpu_percent_per_camera"],
            t["rss_mb_per_camera"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def _commands(results: dict[str, Any], command: str) -> list[str]:
    runs = results.get("runs") or [{"command": command, "sections": ["all"]}]
    if len(runs) == 1:
        return [f"`{runs[0]['command']}`."]
    lines = ["these commands, run one after the other on the same machine:", ""]
    lines += [f"- `{r['command']}` ({', '.join(r['sections'])}){_on(r)}" for r in runs]
    return [*lines, ""]


def _on(run: dict[str, Any]) -> str:
    return f", {run['date']}" if run.get("date") else ""


def _crop_note(results: dict[str, Any]) -> str:
    return ", detecting in the zone's rows only" if results.get("crop_to_zones") else ""
