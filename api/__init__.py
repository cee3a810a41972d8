"""HTTP API and web UI (FastAPI): `create_app(settings, runtime)` in `api.app`, one router
per resource in `api.routers`, the browser UI in `api/static/`."""
