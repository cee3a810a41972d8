"""The writes the camera side makes to the incident store, as values: they can be committed
at once or, while the database is unreachable, kept on disk as JSON and replayed later.

>>> write = StoreIncident(record)  # doctest: +SKIP
>>> write_from_json(write_to_json(write)) == write  # doctest: +SKIP
True
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord, Presence

Box = tuple[float, float, float, float]
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class MissingEvidence:
    """Evidence that could not be written (e.g. the disk was full); noted on the incident."""

    kinds: tuple[EvidenceKind, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class StoreIncident:
    """A new incident with the evidence files already in place."""

    record: IncidentRecord
    missing: MissingEvidence | None = None

    @property
    def incident_id(self) -> str:
        return self.record.id


@dataclass(frozen=True, slots=True)
class AttachEvidence:
    """Evidence finished after the alert (the clip), or the note that it could not be."""

    incident_id: str
    files: tuple[EvidenceFile, ...]
    missing: MissingEvidence | None = None


@dataclass(frozen=True, slots=True)
class UpdatePresence:
    """The latest sighting of the object, and whether it has left."""

    incident_id: str
    last_seen_s: float
    last_seen_at: datetime
    presence: Presence
    box: Box | None = None


StoreWrite = StoreIncident | AttachEvidence | UpdatePresence


def op_name(write: StoreWrite) -> str:
    """A short name for logs and queue file names (letters only)."""
    if isinstance(write, StoreIncident):
        return "incident"
    return "evidence" if isinstance(write, AttachEvidence) else "presence"


def is_connection_error(exc: BaseException) -> bool:
    """True for errors that mean "the database is away", worth retrying later.

    Constraint violations, bad data and programming errors are not: replaying them would
    fail the same way.
    """
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def describe_db_error(exc: BaseException) -> str:
    """One line naming the error, without SQLAlchemy's SQL dump and help link."""
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {first[0] if first else 'no message'}"


# --- JSON form, for the on-disk queue ---


def write_to_json(write: StoreWrite) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "op": op_name(write),
        "incident_id": write.incident_id,
    }
    if isinstance(write, StoreIncident):
        data["record"] = _record_json(write.record)
        data["missing"] = _missing_json(write.missing)
    elif isinstance(write, AttachEvidence):
        data["files"] = [_file_json(f) for f in write.files]
        data["missing"] = _missing_json(write.missing)
    else:
        data["last_seen_s"] = write.last_seen_s
        data["last_seen_at"] = write.last_seen_at.isoformat()
        data["presence"] = write.presence.value
        data["box"] = None if write.box is None else list(write.box)
    return data


def write_from_json(data: dict[str, Any]) -> StoreWrite:
    """The write `write_to_json` made; KeyError / ValueError / TypeError when malformed."""
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"unknown queued write format version {data.get('version')!r}")
    op = data["op"]
    if op == "incident":
        return StoreIncident(_record_from(data["record"]), _missing_from(data["missing"]))
    if op == "evidence":
        files = tuple(_file_from(f) for f in data["files"])
        return AttachEvidence(data["incident_id"], files, _missing_from(data["missing"]))
    if op == "presence":
        box = data["box"]
        return UpdatePresence(
            data["incident_id"],
            float(data["last_seen_s"]),
            datetime.fromisoformat(data["last_seen_at"]),
            Presence(data["presence"]),
            None if box is None else _box(box),
        )
    raise ValueError(f"unknown queued write {op!r}")


def _box(values: list[float]) -> Box:
    x1, y1, x2, y2 = (float(v) for v in values)
    return (x1, y1, x2, y2)


def _missing_json(missing: MissingEvidence | None) -> dict[str, Any] | None:
    if missing is None:
        return None
    return {"kinds": [k.value for k in missing.kinds], "reason": missing.reason}


def _missing_from(data: dict[str, Any] | None) -> MissingEvidence | None:
    if data is None:
        return None
    return MissingEvidence(tuple(EvidenceKind(k) for k in data["kinds"]), str(data["reason"]))


def _file_json(file: EvidenceFile) -> dict[str, Any]:
    return {
        "kind": EvidenceKind(file.kind).value,
        "path": file.path,
        "sha256": file.sha256,
        "size_bytes": file.size_bytes,
        "media_type": file.media_type,
    }


def _file_from(data: dict[str, Any]) -> EvidenceFile:
    return EvidenceFile(
        EvidenceKind(data["kind"]),
        str(data["path"]),
        str(data["sha256"]),
        int(data["size_bytes"]),
        str(data["media_type"]),
    )


def _record_json(record: IncidentRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "camera": record.camera,
        "zone": record.zone,
        "type": str(record.type),
        "severity": str(record.severity),
        "first_seen_s": record.first_seen_s,
        "alert_s": record.alert_s,
        "last_seen_s": record.last_seen_s,
        "first_seen_at": record.first_seen_at.isoformat(),
        "alert_at": record.alert_at.isoformat(),
        "last_seen_at": record.last_seen_at.isoformat(),
        "box": [float(v) for v in record.box],
        "confidence": float(record.confidence),
        "object_classes": list(record.object_classes),
        "presence": Presence(record.presence).value,
        "status": record.status,
        "repeat_of": record.repeat_of,
        "evidence": [_file_json(f) for f in record.evidence],
    }


def _record_from(data: dict[str, Any]) -> IncidentRecord:
    return IncidentRecord(
        id=str(data["id"]),
        camera=str(data["camera"]),
        zone=str(data["zone"]),
        type=str(data["type"]),
        severity=str(data["severity"]),
        first_seen_s=float(data["first_seen_s"]),
        alert_s=float(data["alert_s"]),
        last_seen_s=float(data["last_seen_s"]),
        first_seen_at=datetime.fromisoformat(data["first_seen_at"]),
        alert_at=datetime.fromisoformat(data["alert_at"]),
        last_seen_at=datetime.fromisoformat(data["last_seen_at"]),
        box=_box(data["box"]),
        confidence=float(data["confidence"]),
        object_classes=[str(c) for c in data["object_classes"]],
        presence=Presence(data["presence"]),
        status=str(data["status"]),
        repeat_of=data["repeat_of"],
        evidence=[_file_from(f) for f in data["evidence"]],
    )
