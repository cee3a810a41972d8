"""HTTP API and web UI (FastAPI). Not built yet: see the API issue."""
