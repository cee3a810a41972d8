"""Evidence downloads: sign-in, byte ranges, path traversal, audit of each viewing."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.records import EvidenceKind
from pipeline.store.tables import AuditRow, EvidenceRow
from tests.api.conftest import Api

DATA = bytes(range(256)) * 40  # 10 240 bytes, every offset recognisable
URL = "/api/evidence/inc-1/clip"


@pytest.fixture
def clip(api: Api) -> str:
    api.add_incident(incident_id="inc-1")
    api.write_evidence("inc-1", EvidenceKind.clip, DATA)
    return URL


def test_whole_file(api: Api, clip: str) -> None:
    response = api.client.get(clip, headers=api.auth("operator"))
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"


def test_range_requests(api: Api, clip: str) -> None:
    headers = api.auth("operator")
    part = api.client.get(clip, headers={**headers, "Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.content == DATA[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(DATA)}"
    tail = api.client.get(clip, headers={**headers, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == DATA[-10:]
    open_end = api.client.get(clip, headers={**headers, "Range": "bytes=10000-"})
    assert open_end.status_code == 206 and open_end.content == DATA[10000:]
    beyond = api.client.get(clip, headers={**headers, "Range": "bytes=20000-20010"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(DATA)}"


def test_needs_sign_in_cookie_bearer_or_ticket(api: Api, clip: str) -> None:
    assert api.client.get(clip).status_code == 401
    ticket = api.client.post("/api/auth/ticket", headers=api.auth("monitor")).json()["ticket"]
    assert api.client.get(f"{clip}?ticket={ticket}").status_code == 200
    assert api.client.get(f"{clip}?ticket={ticket}").status_code == 401
    api.login("monitor")
    assert api.client.get(clip).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/evidence/..%2F..%2Fetc/passwd",
        "/api/evidence/../../etc/passwd",
        "/api/evidence/inc-1/..%2Fx",
        "/api/evidence/inc-1/../x",
        "/api/evidence/inc.1/clip",
        "/api/evidence/..%2Finc-1/clip",
        "/api/evidence/inc-1/clip%00",
        "/api/evidence/a/clip",
        "/api/evidence/inc-1/not_a_kind",
    ],
)
def test_traversal_and_bad_names_are_refused(api: Api, clip: str, path: str) -> None:
    response = api.client.get(path, headers=api.auth("admin"))
    assert response.status_code in (400, 404)
    assert b"root:" not in response.content


def test_stored_path_outside_evidence_folder_is_refused(api: Api, clip: str) -> None:
    with Session(api.engine) as session, session.begin():
        row = session.scalar(select(EvidenceRow).where(EvidenceRow.incident_id == "inc-1"))
        assert row is not None
        row.path = "../../../../../../etc/hostname"
    assert api.client.get(clip, headers=api.auth("admin")).status_code == 404


def test_viewing_is_audited_once_per_minute(api: Api, clip: str) -> None:
    headers = api.auth("operator")
    for start in range(0, 1000, 100):
        api.client.get(clip, headers={**headers, "Range": f"bytes={start}-{start + 99}"})
    api.client.get(clip, headers=api.auth("monitor"))
    with Session(api.engine) as session:
        views = session.execute(
            select(AuditRow.actor, AuditRow.detail).where(AuditRow.action == "evidence.view")
        ).all()
    assert sorted(actor for actor, _ in views) == ["monitor", "operator"]
    assert views[0][1] == {"kind": "clip"}


def test_patrol_only_gets_evidence_of_its_incidents(api: Api, clip: str) -> None:
    assert api.client.get(clip, headers=api.auth("patrol")).status_code == 404
