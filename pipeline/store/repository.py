"""The incident repository: the only code that turns records into rows and back."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipeline.records import EvidenceFile, EvidenceKind, IncidentRecord, Presence
from pipeline.store import audit
from pipeline.store.tables import Base, DwellStateRow, EvidenceRow, IncidentRow, utc_now
from pipeline.store.writes import MissingEvidence, describe_db_error, is_connection_error

logger = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
# Audit action noting evidence that could not be written (e.g. the disk was full).
EVIDENCE_MISSING_ACTION = "evidence.missing"


class IncidentNotFoundError(LookupError):
    """An operation named an incident id that is not in the database."""

    def __init__(self, incident_id: str) -> None:
        self.incident_id = incident_id
        super().__init__(f"no incident with id {incident_id!r}")


class IncidentStore:
    """Reads and writes incidents, their evidence and dwell timers.

    Each public method runs in its own transaction, so a failure leaves nothing behind.
    Database errors (e.g. `sqlalchemy.exc.IntegrityError` for a duplicate id) propagate.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def engine(self) -> Engine:
        return self._engine

    def add_incident(self, record: IncidentRecord) -> None:
        """Insert an incident and all of its evidence rows in one transaction."""
        with self._sessions.begin() as session:
            session.add(_incident_row(record))
        logger.debug("stored incident %s (%d evidence files)", record.id, len(record.evidence))

    def ensure_incident(
        self, record: IncidentRecord, missing: MissingEvidence | None = None
    ) -> bool:
        """Insert the incident (with its evidence rows, and an audit note of `missing`
        evidence) unless a row with its id is already there; True when inserted now.

        Replays after a lost commit acknowledgement end here: the row was committed, the
        reply never came, and inserting again would fail or duplicate.
        """
        try:
            with self._sessions.begin() as session:
                if session.get(IncidentRow, record.id) is not None:
                    return False
                session.add(_incident_row(record))
                if missing is not None:
                    session.flush()  # the audit entry refers to the incident row
                    _note_missing(session, record.id, missing)
        except IntegrityError:
            # Another writer inserted it between our look and our insert.
            if self.get_incident(record.id) is not None:
                return False
            raise
        logger.debug("stored incident %s (%d evidence files)", record.id, len(record.evidence))
        return True

    def ensure_evidence(
        self,
        incident_id: str,
        files: Sequence[EvidenceFile],
        missing: MissingEvidence | None = None,
    ) -> list[EvidenceFile]:
        """Attach the files whose kind the incident does not have yet (and note `missing`
        evidence once); returns the files attached now. Safe to repeat."""
        with self._sessions.begin() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise IncidentNotFoundError(incident_id)
            have = {e.kind: e for e in row.evidence}
            added = []
            for file in files:
                stored = have.get(EvidenceKind(file.kind).value)
                if stored is None:
                    row.evidence.append(evidence_row(file))
                    added.append(file)
                elif stored.sha256 != file.sha256:
                    logger.warning(
                        "incident %s already has %s evidence %s; %s not attached",
                        incident_id,
                        stored.kind,
                        stored.sha256[:12],
                        file.sha256[:12],
                    )
            if missing is not None and not _has_note(session, incident_id, missing):
                _note_missing(session, incident_id, missing)
        return added

    def add_evidence(self, incident_id: str, files: Sequence[EvidenceFile]) -> None:
        """Attach more evidence files (e.g. the clip, finished after the alert)."""
        with self._sessions.begin() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise IncidentNotFoundError(incident_id)
            row.evidence.extend(evidence_row(f) for f in files)

    def update_presence(
        self,
        incident_id: str,
        *,
        last_seen_s: float,
        last_seen_at: datetime,
        presence: Presence,
        box: Box | None = None,
    ) -> None:
        """Record the latest sighting of the object (and whether it has left)."""
        with self._sessions.begin() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise IncidentNotFoundError(incident_id)
            row.last_seen_s = last_seen_s
            row.last_seen_at = last_seen_at
            row.presence = Presence(presence).value
            if box is not None:
                row.x1, row.y1, row.x2, row.y2 = (float(v) for v in box)

    def get_incident(self, incident_id: str) -> IncidentRecord | None:
        with self._sessions() as session:
            row = session.get(IncidentRow, incident_id)
            return None if row is None else _incident_record(row)

    def list_incidents(self, camera: str | None = None) -> list[IncidentRecord]:
        """All incidents (of one camera when given), oldest alert first."""
        query = select(IncidentRow).order_by(IncidentRow.alert_at, IncidentRow.id)
        if camera is not None:
            query = query.where(IncidentRow.camera == camera)
        with self._sessions() as session:
            return [_incident_record(row) for row in session.scalars(query)]

    def find_earlier_at_spot(
        self,
        camera: str,
        zone: str,
        box: Box,
        before: datetime,
        min_iou: float = 0.5,
        rectified_since: datetime | None = None,
    ) -> IncidentRecord | None:
        """The latest incident at about the same spot alerted before `before`, or (when
        `rectified_since` is given) rectified since then, if any.

        "Same spot" means same camera and zone and a box IoU of at least `min_iou`.
        While the database is unreachable this answers None (and logs it): the camera must
        keep alerting, and a missed repeat link costs less than a stopped camera.
        """
        try:
            return self._find_earlier_at_spot(camera, zone, box, before, min_iou, rectified_since)
        except SQLAlchemyError as exc:
            if not is_connection_error(exc):
                raise
            logger.warning(
                "camera %s: repeat check skipped, database unreachable (%s)",
                camera,
                describe_db_error(exc),
            )
            return None

    def _find_earlier_at_spot(
        self,
        camera: str,
        zone: str,
        box: Box,
        before: datetime,
        min_iou: float,
        rectified_since: datetime | None,
    ) -> IncidentRecord | None:
        earlier: ColumnElement[bool] = IncidentRow.alert_at < before
        if rectified_since is not None:
            earlier = or_(earlier, IncidentRow.rectified_at >= rectified_since)
        query = (
            select(IncidentRow.id, IncidentRow.x1, IncidentRow.y1, IncidentRow.x2, IncidentRow.y2)
            .where(IncidentRow.camera == camera, IncidentRow.zone == zone, earlier)
            .order_by(IncidentRow.alert_at.desc(), IncidentRow.id.desc())
        )
        if min_iou > 0:
            # A positive IoU needs overlapping boxes; let the database drop the rest.
            query = query.where(
                IncidentRow.x1 < box[2],
                IncidentRow.x2 > box[0],
                IncidentRow.y1 < box[3],
                IncidentRow.y2 > box[1],
            )
        with self._sessions() as session:
            match = next(
                (
                    incident_id
                    for incident_id, x1, y1, x2, y2 in session.execute(query)
                    if box_iou((x1, y1, x2, y2), box) >= min_iou
                ),
                None,
            )
            row = None if match is None else session.get(IncidentRow, match)
            return None if row is None else _incident_record(row)

    def save_dwell_states(self, camera: str, zone: str, states: dict[str, dict[str, Any]]) -> None:
        """Replace every stored dwell timer of one camera and zone with `states`."""
        now = utc_now()
        with self._sessions.begin() as session:
            session.execute(
                delete(DwellStateRow).where(
                    DwellStateRow.camera == camera, DwellStateRow.zone == zone
                )
            )
            session.add_all(
                DwellStateRow(camera=camera, zone=zone, key=key, state=state, updated_at=now)
                for key, state in states.items()
            )

    def load_dwell_states(self, camera: str) -> dict[str, dict[str, dict[str, Any]]]:
        """Stored dwell timers of one camera, as zone -> key -> state."""
        query = select(DwellStateRow).where(DwellStateRow.camera == camera)
        result: dict[str, dict[str, dict[str, Any]]] = {}
        with self._sessions() as session:
            for row in session.scalars(query):
                result.setdefault(row.zone, {})[row.key] = dict(row.state)
        return result

    def count_rows(self) -> dict[str, int]:
        """Row count of every table, keyed by table name."""
        counts: dict[str, int] = {}
        with self._sessions() as session:
            for table in Base.metadata.sorted_tables:
                counts[table.name] = session.scalar(select(func.count()).select_from(table)) or 0
        return counts


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two xyxy boxes (0 when either is empty)."""
    inter_w = min(a[2], b[2]) - max(a[0], b[0])
    inter_h = min(a[3], b[3]) - max(a[1], b[1])
    if inter_w <= 0 or inter_h <= 0:
        return 0.0
    inter = inter_w * inter_h
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def _missing_detail(missing: MissingEvidence) -> dict[str, Any]:
    return {"kinds": [EvidenceKind(k).value for k in missing.kinds], "reason": missing.reason}


def _note_missing(session: Session, incident_id: str, missing: MissingEvidence) -> None:
    # In the incident's audit trail, so the operator sees why a picture or clip is absent.
    detail = _missing_detail(missing)
    audit.append(session, audit.SYSTEM_ACTOR, EVIDENCE_MISSING_ACTION, incident_id, detail)


def _has_note(session: Session, incident_id: str, missing: MissingEvidence) -> bool:
    detail = _missing_detail(missing)
    return any(
        entry.action == EVIDENCE_MISSING_ACTION and entry.detail == detail
        for entry in audit.entries_for_incident(session, incident_id)
    )


def evidence_row(file: EvidenceFile) -> EvidenceRow:
    return EvidenceRow(
        kind=EvidenceKind(file.kind).value,
        path=file.path,
        sha256=file.sha256,
        size_bytes=file.size_bytes,
        media_type=file.media_type,
    )


def _evidence_file(row: EvidenceRow) -> EvidenceFile:
    return EvidenceFile(
        kind=EvidenceKind(row.kind),
        path=row.path,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        media_type=row.media_type,
    )


def _incident_row(record: IncidentRecord) -> IncidentRow:
    x1, y1, x2, y2 = (float(v) for v in record.box)
    return IncidentRow(
        id=record.id,
        camera=record.camera,
        zone=record.zone,
        type=str(record.type),
        severity=str(record.severity),
        first_seen_s=record.first_seen_s,
        alert_s=record.alert_s,
        last_seen_s=record.last_seen_s,
        first_seen_at=record.first_seen_at,
        alert_at=record.alert_at,
        last_seen_at=record.last_seen_at,
        x1=x1,
        y1=y1,
        x2=x2,
        y2=y2,
        confidence=record.confidence,
        object_classes=list(record.object_classes),
        presence=Presence(record.presence).value,
        status=record.status,
        repeat_of=record.repeat_of,
        evidence=[evidence_row(f) for f in record.evidence],
    )


def _incident_record(row: IncidentRow) -> IncidentRecord:
    return IncidentRecord(
        id=row.id,
        camera=row.camera,
        zone=row.zone,
        type=row.type,
        severity=row.severity,
        first_seen_s=row.first_seen_s,
        alert_s=row.alert_s,
        last_seen_s=row.last_seen_s,
        first_seen_at=row.first_seen_at,
        alert_at=row.alert_at,
        last_seen_at=row.last_seen_at,
        box=row.box,
        confidence=row.confidence,
        object_classes=list(row.object_classes),
        presence=Presence(row.presence),
        status=row.status,
        repeat_of=row.repeat_of,
        evidence=[_evidence_file(e) for e in row.evidence],
    )
