"""What `process` prints and writes: the summary table and the incident JSON."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pipeline.process import ProcessResult
from pipeline.records import IncidentRecord
from pipeline.sink import SinkStats
from pipeline.timing import STAGES


def incident_json(record: IncidentRecord) -> dict[str, Any]:
    """The incident in the format of EVALUATION.md ("Incident output")."""
    return {
        "id": record.id,
        "camera": record.camera,
        "zone": record.zone,
        "type": record.type,
        "severity": record.severity,
        "first_seen_s": round(record.first_seen_s, 3),
        "alert_s": round(record.alert_s, 3),
        "last_seen_s": round(record.last_seen_s, 3),
        "first_seen_at": record.first_seen_at.isoformat(),
        "alert_at": record.alert_at.isoformat(),
        "box": [round(v, 1) for v in record.box],
        "confidence": round(record.confidence, 4),
        "object_classes": record.object_classes,
        "presence": record.presence.value,
        "repeat_of": record.repeat_of,
        "evidence": [
            {"kind": e.kind.value, "path": e.path, "sha256": e.sha256, "bytes": e.size_bytes}
            for e in record.evidence
        ],
    }


def print_summary(
    result: ProcessResult, records: list[IncidentRecord], stats: SinkStats, where: str
) -> None:
    info = result.info
    print()
    print(
        f"video      {info.width}x{info.height} @ {info.fps:.2f} fps, {result.stream_seconds:.1f} s"
    )
    print(
        f"frames     {result.frames_read} read, {result.frames_detected} detected, "
        f"{result.corrupt_frames} corrupt{' (file truncated)' if result.truncated else ''}"
    )
    print(f"speed      {result.speed:.1f} x real time ({result.wall_seconds:.1f} s)")
    stage_text = ", ".join(f"{s} {result.times.ms_per_call(s):.1f}" for s in STAGES)
    print(f"ms/frame   {stage_text}")
    print(f"stored     {where}")
    if stats.failures:
        print(f"FAILED     {stats.failures} evidence/database writes failed (see the log)")
    print()
    _print_incident_table(records)


def _print_incident_table(records: list[IncidentRecord]) -> None:
    if not records:
        print("no incidents")
        return
    header = (
        f"{'id':8}  {'zone':16} {'type':22} {'first seen':>10} {'alert':>8} {'last seen':>10}"
        "  classes"
    )
    print(header)
    print("-" * len(header))
    for r in records:
        print(
            f"{r.id[:8]:8}  {r.zone[:16]:16} {r.type:22} {r.first_seen_s:10.1f} {r.alert_s:8.1f} "
            f"{r.last_seen_s:10.1f}  {','.join(r.object_classes)}"
        )
    counts = Counter((r.zone, r.type) for r in records)
    print()
    print(
        f"{len(records)} incidents: "
        + ", ".join(f"{z}/{t}: {n}" for (z, t), n in sorted(counts.items()))
    )
