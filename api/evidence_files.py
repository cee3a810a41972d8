"""Evidence paths from the database, checked to stay inside the evidence folder."""

from __future__ import annotations

import re
from pathlib import Path

INCIDENT_ID = re.compile(r"^[A-Za-z0-9_-]{2,64}$")


def resolve_inside(root: Path, relative: str) -> Path | None:
    """`root/relative` as an existing file, or None if it is missing or escapes `root`."""
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path
