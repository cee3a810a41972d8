"""Alembic revision files (Alembic skips this __init__ when it scans for revisions)."""
