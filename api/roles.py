"""Who may call what: the role × route table, enforced for every route by `deps.authorize`.

Keys are (method, path template) as FastAPI registers them; WebSocket routes use method
"WS". `PUBLIC` routes need no sign-in. A route missing here is refused for everybody, and
`tests/api/test_roles.py` fails on it. `docs/roles.md` is rendered from this table
(`python -m api.roles > docs/roles.md`).
"""

from __future__ import annotations

from typing import Final

ROLES: Final = ("admin", "supervisor", "monitor", "operator", "patrol")
PUBLIC: Final = "public"

ALL: Final = frozenset(ROLES)
STAFF: Final = frozenset({"admin", "supervisor", "monitor", "operator"})
MANAGERS: Final = frozenset({"admin", "supervisor"})
REVIEWERS: Final = frozenset({"admin", "supervisor", "operator"})
FIELD: Final = frozenset({"admin", "supervisor", "patrol"})

RouteKey = tuple[str, str]

ROUTE_ROLES: Final[dict[RouteKey, frozenset[str] | str]] = {
    ("GET", "/api/health"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): ALL,
    ("GET", "/api/auth/me"): ALL,
    ("PUT", "/api/auth/me/language"): ALL,
    ("POST", "/api/auth/ticket"): ALL,
    ("GET", "/api/users"): frozenset({"admin"}),
    ("POST", "/api/users"): frozenset({"admin"}),
    ("GET", "/api/teams"): STAFF,
    ("POST", "/api/teams"): MANAGERS,
    ("PUT", "/api/teams/{name}"): MANAGERS,
    ("GET", "/api/cameras"): ALL,
    ("GET", "/api/cameras/{name}/snapshot"): STAFF,
    ("GET", "/api/cameras/{name}/zones"): ALL,
    ("POST", "/api/cameras/{name}/zones"): MANAGERS,
    ("PUT", "/api/cameras/{name}/zones/{zone}"): MANAGERS,
    ("DELETE", "/api/cameras/{name}/zones/{zone}"): MANAGERS,
    # Patrol users see only their team's dispatched incidents (filtered in the queries).
    ("GET", "/api/incidents"): ALL,
    ("GET", "/api/incidents/{incident_id}"): ALL,
    ("GET", "/api/evidence/{incident_id}/{kind}"): ALL,
    ("POST", "/api/incidents/{incident_id}/review"): REVIEWERS,
    ("POST", "/api/incidents/{incident_id}/dispatch"): REVIEWERS,
    ("POST", "/api/incidents/{incident_id}/acknowledge"): FIELD,
    ("POST", "/api/incidents/{incident_id}/resolve"): FIELD,
    # Suppressed spots hide incidents from review only; reports come from staff and patrols.
    ("POST", "/api/incidents/{incident_id}/suppress-spot"): REVIEWERS,
    ("GET", "/api/suppressions"): STAFF,
    ("GET", "/api/suppressions/candidates"): STAFF,
    ("POST", "/api/suppressions/{suppression_id}/lift"): REVIEWERS,
    ("POST", "/api/incidents/report"): ALL,
    # Legal hold keeps evidence from retention; setting or lifting it is audited.
    ("POST", "/api/incidents/{incident_id}/legal-hold"): MANAGERS,
    ("WS", "/api/live"): ALL,
    ("GET", "/api/live/sse"): ALL,
    ("GET", "/api/stats"): STAFF,
    ("GET", "/api/kpis"): STAFF,
    ("GET", "/api/ledger"): STAFF,
    ("GET", "/api/export/incidents.csv"): STAFF,
    ("GET", "/api/export/incidents.geojson"): STAFF,
    ("GET", "/api/webhooks/dead-letters"): frozenset({"admin"}),
    ("POST", "/api/webhooks/dead-letters/{delivery_id}/retry"): frozenset({"admin"}),
    # Reports hold every picture of a month (internal) or are meant for publication
    # (public): both are decisions for managers, whatever the variant.
    ("GET", "/api/reports/monthly.pdf"): MANAGERS,
    ("GET", "/api/reports/monthly.html"): MANAGERS,
    ("GET", "/api/reports/weekly.pdf"): MANAGERS,
    ("GET", "/api/reports/weekly.html"): MANAGERS,
}


def allowed_roles(method: str, path: str) -> frozenset[str] | str | None:
    """The roles for a route (`PUBLIC` for open ones); None when the route is not listed."""
    # Starlette answers HEAD on GET routes; they share the GET entry.
    return ROUTE_ROLES.get(("GET" if method == "HEAD" else method, path))


def render_markdown() -> str:
    """The table as Markdown, for docs/roles.md."""
    lines = [
        "# Roles and routes",
        "",
        "Generated from `api/roles.py` (`python -m api.roles > docs/roles.md`); "
        "do not edit by hand.",
        "",
        "`yes`: allowed; `-`: refused with 403; public routes need no sign-in. "
        "Static UI files under `/` are public too (the pages call the API).",
        "",
        "| Method | Path | " + " | ".join(ROLES) + " |",
        "|---|---|" + "---|" * len(ROLES),
    ]
    for (method, path), roles in ROUTE_ROLES.items():
        cells = (
            ["public"] * len(ROLES)
            if roles == PUBLIC
            else ["yes" if role in roles else "-" for role in ROLES]
        )
        lines.append(f"| {method} | `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(), end="")
