"""Report downloads: managers only, PDF and HTML, bad periods refused, audited."""

from __future__ import annotations

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.records import EvidenceKind
from pipeline.store.tables import AuditRow
from tests.api.conftest import Api

MONTHLY = "/api/reports/monthly.pdf?month=2024-06"


def seed(api: Api) -> None:
    api.add_incident(incident_id="inc-0001", status="confirmed")
    api.add_incident(incident_id="inc-0002", status="new")
    picture = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    ok, jpeg = cv2.imencode(".jpg", picture)
    assert ok
    api.write_evidence("inc-0001", EvidenceKind.alert_annotated, jpeg.tobytes())


def test_managers_get_the_monthly_pdf(api: Api) -> None:
    seed(api)
    for user in ("supervisor", "admin"):
        for variant in ("internal", "public"):
            response = api.client.get(f"{MONTHLY}&variant={variant}", headers=api.auth(user))
            assert response.status_code == 200, response.text
            assert response.headers["content-type"] == "application/pdf"
            assert response.content.startswith(b"%PDF-")
            assert f"2024-06-{variant}.pdf" in response.headers["content-disposition"]
    with Session(api.engine) as session:
        entries = list(
            session.scalars(select(AuditRow).where(AuditRow.action == "report.generate"))
        )
    assert [(e.actor, e.detail["variant"]) for e in entries] == [
        ("supervisor", "internal"),
        ("supervisor", "public"),
        ("admin", "internal"),
        ("admin", "public"),
    ]
    assert entries[0].detail["incidents"] == 2 and entries[1].detail["incidents"] == 1


def test_other_roles_are_refused(api: Api) -> None:
    for user in ("patrol", "operator", "monitor"):
        response = api.client.get(MONTHLY, headers=api.auth(user))
        assert response.status_code == 403, user
    assert api.client.get(MONTHLY).status_code == 401


def test_html_and_weekly(api: Api) -> None:
    seed(api)
    html = api.client.get(
        "/api/reports/monthly.html?month=2024-06&variant=public", headers=api.auth("supervisor")
    )
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert "Monthly report 2024-06" in html.text
    weekly = api.client.get("/api/reports/weekly.pdf?week=2024-W22", headers=api.auth("admin"))
    assert weekly.status_code == 200 and weekly.content.startswith(b"%PDF-")


def test_bad_periods_and_variants_are_422(api: Api) -> None:
    headers = api.auth("supervisor")
    for url in (
        "/api/reports/monthly.pdf?month=2024-13",
        "/api/reports/monthly.pdf?month=june",
        "/api/reports/monthly.pdf",
        "/api/reports/weekly.pdf?week=2024-W60",
        f"{MONTHLY}&variant=secret",
        f"{MONTHLY}&tz=Mars/Base",
    ):
        response = api.client.get(url, headers=headers)
        assert response.status_code == 422, url
