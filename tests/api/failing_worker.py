"""Stands in for an API worker that cannot start (tests/api/test_relay.py)."""

import sys

sys.exit(3)
