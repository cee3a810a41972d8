"""Incident storage: engine set-up, schema migrations and the incident repository."""

from pipeline.store.db import check_integrity, make_engine, migrate
from pipeline.store.repository import IncidentNotFoundError, IncidentStore

__all__ = [
    "IncidentNotFoundError",
    "IncidentStore",
    "check_integrity",
    "make_engine",
    "migrate",
]
