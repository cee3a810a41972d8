"""Browser tests of the web UI: the real API app on a free port, seeded with incidents and
real evidence files, driven by Playwright through Debian's Chromium (headless).

Screenshots of every page land in docs/screenshots/.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        f"UI tests need Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True
    )
if importlib.util.find_spec("playwright") is None:
    pytest.skip(
        "UI tests need the Python playwright package (pip install playwright)",
        allow_module_level=True,
    )

# Imported only once the skips above have passed.
from playwright.sync_api import (  # noqa: E402
    Browser,
    BrowserContext,
    Page,
    expect,
    sync_playwright,
)
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from pipeline.live import CameraState  # noqa: E402
from pipeline.store import suppression  # noqa: E402
from pipeline.store.tables import IncidentRow  # noqa: E402
from tests.ui.world import PASSWORDS, World, build_world, jpeg, street_scene  # noqa: E402

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--autoplay-policy=no-user-gesture-required",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
HOME = {
    "admin": "dashboard.html",
    "supervisor": "dashboard.html",
    "monitor": "wall.html",
    "operator": "review.html",
    "patrol": "patrol.html",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(tmp_path_factory.mktemp("ui-world"))
    built.serve()
    yield built
    built.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Browser contexts made by a test, closed after it."""
    made: list[BrowserContext] = []
    yield made
    for context in made:
        context.close()


class Errors(list[str]):
    """JavaScript errors seen on a page (uncaught exceptions and console errors)."""


def open_page(
    browser: Browser, contexts: list[BrowserContext], viewport: dict[str, int] = DESKTOP
) -> tuple[Page, Errors]:
    context = browser.new_context(viewport=viewport, locale="en-GB")  # type: ignore[arg-type]
    contexts.append(context)
    page = context.new_page()
    page.set_default_timeout(8000)
    errors = Errors()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "status of 401" not in msg.text
            else None
        ),
    )
    return page, errors


def sign_in(page: Page, world: World, username: str) -> None:
    page.goto(f"{world.url}/index.html")
    page.fill("#username", username)
    page.fill("#password", PASSWORDS[username])
    page.click("#signin-submit")
    wait_for_page(page, HOME[username])
    expect(page.locator(".topbar")).to_be_visible()


def wait_for_page(page: Page, name: str) -> None:
    """Until the browser shows page `name` (whatever its query string)."""
    page.wait_for_url(lambda url: urlparse(url).path.endswith(f"/{name}"))


def api_get(page: Page, world: World, path: str) -> Any:
    response = page.request.get(f"{world.url}{path}")
    assert response.ok, f"{path}: {response.status} {response.text()}"
    return response.json()


def wait_for_pictures(page: Page, selector: str, count: int) -> None:
    """Until the first `count` pictures matching `selector` have loaded."""
    page.wait_for_function(
        "([sel, n]) => Array.from(document.querySelectorAll(sel)).slice(0, n)"
        ".every((img) => img.complete && img.naturalWidth > 0)",
        arg=[selector, count],
    )


def shot(page: Page, name: str, full_page: bool = False) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(150)  # let animations and images settle
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


# ---------- tests ----------


def test_sign_in_redirects_by_role_and_shows_allowed_pages(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    page.goto(f"{world.url}/")
    expect(page.locator("#signin-submit")).to_have_text("Sign in")
    shot(page, "signin")

    page.fill("#username", "operator")
    page.fill("#password", "wrong-password")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_be_visible()

    for username, home in HOME.items():
        page, _ = open_page(browser, contexts)
        sign_in(page, world, username)
        assert urlparse(page.url).path.endswith(home)
    # The last one is patrol: its bar offers the patrol page only.
    assert page.locator(".nav-link").all_inner_texts() == ["Patrol"]
    # Pages a role may not use send it home.
    page.goto(f"{world.url}/zones.html")
    wait_for_page(page, "patrol.html")

    page, _ = open_page(browser, contexts)
    sign_in(page, world, "operator")
    assert page.locator(".nav-link").all_inner_texts() == ["Live wall", "Review"]
    # Signing out ends the session: pages go back to the sign-in form.
    page.click("#sign-out")
    page.wait_for_url("**/index.html")
    page.goto(f"{world.url}/review.html")
    page.wait_for_url("**/index.html?next=review.html")
    assert not errors


def test_live_wall_shows_new_alert_and_offline_camera(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    sign_in(page, world, "monitor")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    expect(page.locator(".camera-tile")).to_have_count(len(world.cameras))
    before = page.locator(".alert-card").count()
    assert before > 0

    incident_id = world.publish_alert("hang-bong-01", "no-parking", severity="critical")
    first = page.locator(".alert-card").first
    expect(first).to_have_attribute("data-id", incident_id, timeout=5000)
    expect(first).to_have_class("alert-card sev-critical fresh")
    expect(first.locator(".alert-type")).to_have_text("Illegal parking")
    expect(first.locator(".alert-place")).to_have_text("hang-bong-01 · no-parking")
    expect(page.locator("#flash")).to_have_attribute("data-kind", "alert")
    expect(page.locator("#flash")).to_have_class("flash on")
    # The annotated picture loads through the evidence route with the session cookie.
    page.wait_for_function(
        "() => { const img = document.querySelector('.alert-card img');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )

    # A camera dropping out turns its tile red and flashes the wall.
    camera = world.cameras["ly-thuong-kiet-04"]
    camera.status.state = CameraState.offline
    tile = page.locator('.camera-tile[data-camera="ly-thuong-kiet-04"]')
    expect(tile).to_have_attribute("data-state", "offline", timeout=5000)
    expect(page.locator("#flash")).to_have_attribute("data-kind", "offline")
    expect(tile.locator(".chip")).to_have_text("Offline")
    wait_for_pictures(page, ".alert-card img", 6)
    page.evaluate("document.querySelector('#flash').classList.remove('on')")
    shot(page, "wall")
    camera.status.state = CameraState.online
    world.wait_for_sink()
    assert not errors, errors


def test_live_wall_falls_back_to_server_sent_events(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    page.add_init_script("delete window.WebSocket;")
    sockets: list[object] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    sign_in(page, world, "monitor")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "live")
    incident_id = world.publish_alert("dong-xuan-02", "market-gate")
    expect(page.locator(".alert-card").first).to_have_attribute("data-id", incident_id)
    world.wait_for_sink()
    assert not sockets, "the page should have used /api/live/sse"
    assert not errors, errors


def test_review_with_keyboard_then_dispatch(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    now = datetime.now(UTC)
    dismiss_id = world.store_incident("tran-phu-03", "bus-stop", now - timedelta(seconds=20))
    confirm_id = world.store_incident("hang-bong-01", "sidewalk-north", now - timedelta(seconds=10))

    page, errors = open_page(browser, contexts)
    sign_in(page, world, "operator")
    # A link from the wall opens one incident; the queue around it is newest first.
    page.goto(f"{world.url}/review.html?id={confirm_id}")
    expect(page.locator("#d-status")).to_have_attribute("data-status", "new")
    expect(page.locator(".queue-item.selected")).to_have_attribute("data-id", confirm_id)
    video = page.locator("#d-video")
    assert video.get_attribute("src") == f"/api/evidence/{confirm_id}/clip"
    assert video.get_attribute("autoplay") is not None
    assert video.get_attribute("muted") is not None
    page.wait_for_function("() => document.querySelector('#d-video').readyState >= 1")
    for selector in ("#d-first", "#d-alert"):
        page.wait_for_function(
            f"() => {{ const i = document.querySelector('{selector}');"
            " return i.complete && i.naturalWidth > 0; }"
        )
    shot(page, "review")

    page.keyboard.press("c")
    expect(page.locator("#d-status")).to_have_attribute("data-status", "confirmed")
    expect(page.locator(f'.queue-item[data-id="{confirm_id}"]')).to_have_count(0)
    dispatch = page.locator("#dispatch-form")
    expect(dispatch).to_be_visible()
    # The team that covers the zone is suggested.
    expect(page.locator("#dispatch-team")).to_have_value("team-1")
    expect(page.locator("#dispatch-team")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".toast-ok").last).to_contain_text("Dispatched to team-1")

    detail = api_get(page, world, f"/api/incidents/{confirm_id}")
    assert detail["status"] == "dispatched"
    assert detail["team"] == "team-1"
    assert [e["action"] for e in detail["audit"] if e["action"].startswith("incident.")] == [
        "incident.review",
        "incident.dispatch",
    ]

    # After dispatching, the next incident in the queue is on screen: dismiss it with D.
    expect(page.locator(".queue-item.selected")).to_have_attribute("data-id", dismiss_id)
    page.keyboard.press("d")
    expect(page.locator("#dismiss-form")).to_be_visible()
    expect(page.locator("#dismiss-reason")).to_be_focused()
    page.select_option("#dismiss-reason", "passing")
    page.fill("#dismiss-note", "bus waiting at the stop")
    page.keyboard.press("Enter")
    expect(page.locator(f'.queue-item[data-id="{dismiss_id}"]')).to_have_count(0)
    detail = api_get(page, world, f"/api/incidents/{dismiss_id}")
    assert detail["status"] == "dismissed"
    assert detail["review_reason"] == "passing"
    assert detail["review_note"] == "bus waiting at the stop"
    # ... and the one after it loaded straight away.
    expect(page.locator("#d-status")).to_have_attribute("data-status", "new")

    # N moves on without deciding.
    selected = page.locator(".queue-item.selected").get_attribute("data-id")
    page.keyboard.press("n")
    expect(page.locator(".queue-item.selected")).not_to_have_attribute("data-id", selected or "")
    assert not errors, errors


def test_patrol_acknowledges_and_resolves_on_a_phone(
    world: World, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    incident_id = world.store_incident(
        "hang-bong-01",
        "no-parking",
        datetime.now(UTC) - timedelta(minutes=12),
        "dispatched",
        "critical",
        team="team-1",
    )
    page, errors = open_page(browser, contexts, PHONE)
    sign_in(page, world, "patrol")
    card = page.locator(f'.patrol-card[data-id="{incident_id}"]')
    expect(card).to_be_visible()
    # Critical comes first, whatever its age.
    expect(page.locator(".patrol-card").first).to_have_attribute("data-id", incident_id)
    expect(card.locator(".patrol-place")).to_have_text("hang-bong-01 · no-parking")
    expect(page.locator(".patrol-card .chip.repeat").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"page is {width}px wide on a {PHONE['width']}px phone"
    shot(page, "patrol", full_page=True)

    card.locator(".act-ack").click()
    expect(card).to_have_attribute("data-status", "acknowledged")
    card.locator(".act-resolve").click()
    note = card.locator("textarea")
    expect(note).to_be_focused()
    photo_input = card.locator("input[type=file]")
    assert photo_input.get_attribute("accept") == "image/*"
    assert photo_input.get_attribute("capture") == "environment"
    photo = tmp_path / "cleared.jpg"
    photo.write_bytes(jpeg(street_scene(3, [])))
    photo_input.set_input_files(str(photo))
    note.fill("Car towed, kerb clear")
    shot(page, "patrol-resolve")
    card.locator("button[type=submit]").click()
    expect(card).to_have_count(0)

    detail = api_get(page, world, f"/api/incidents/{incident_id}")
    assert detail["status"] == "resolved"
    assert detail["resolution_note"] == "Car towed, kerb clear"
    assert "resolution_photo" in [e["kind"] for e in detail["evidence"]]
    assert not errors, errors


def test_draw_a_zone_and_save_it(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    camera = world.cameras["hang-bong-01"]
    replaced_before = len(camera.replaced)
    page, errors = open_page(browser, contexts)
    sign_in(page, world, "admin")
    page.goto(f"{world.url}/zones.html?camera=hang-bong-01")
    expect(page.locator(".zone-chip")).to_have_count(2)
    page.click("#new-zone")
    canvas = page.locator("#zone-canvas")
    box = canvas.bounding_box()
    assert box is not None
    corners = [(0.62, 0.55), (0.92, 0.55), (0.95, 0.9), (0.6, 0.9)]
    for fx, fy in corners:
        canvas.click(position={"x": box["width"] * fx, "y": box["height"] * fy})
    expect(page.locator("#point-count")).to_have_text("4 corners")
    page.click("#close-polygon")
    expect(page.locator("#zone-name")).to_be_focused()

    page.fill("#zone-name", "kerb-east")
    page.select_option("#zone-rule", "street_vending")
    page.check('input[name=category][value="goods"]')
    page.fill("#zone-dwell", "90")
    page.select_option("#zone-severity", "high")
    page.check('input[name=weekday][value="fri"]')
    page.check('input[name=weekday][value="sat"]')
    # A bad time window comes back from the server as a 422 and is shown.
    page.fill("#zone-windows", "18:00-25:30")
    page.click("#zone-save")
    errors_box = page.locator("#zone-errors")
    expect(errors_box).to_be_visible()
    expect(errors_box).to_contain_text("25:30")

    page.fill("#zone-windows", "18:00-23:00")
    page.click("#zone-save")
    expect(page.locator('.zone-chip[data-zone="kerb-east"]')).to_be_visible()
    expect(errors_box).to_be_hidden()
    shot(page, "zones")

    zones = {z["name"]: z for z in api_get(page, world, "/api/cameras/hang-bong-01/zones")}
    saved = zones["kerb-east"]
    assert saved["rule"] == "street_vending"
    assert sorted(saved["categories"]) == ["goods", "person", "vending"]
    assert saved["dwell_s"] == 90
    assert saved["severity"] == "high"
    assert saved["schedule"]["weekdays"] == ["fri", "sat"]
    assert saved["schedule"]["windows"] == ["18:00-23:00"]
    assert len(saved["polygon"]) == 4
    for (x, y), (fx, fy) in zip(saved["polygon"], corners, strict=True):
        assert abs(x - fx) < 0.01 and abs(y - fy) < 0.01
    # The running camera got the new zone list at once.
    assert len(camera.replaced) > replaced_before
    assert "kerb-east" in [z.name for z in camera.replaced[-1]]

    # Drag a corner of the saved zone, save again.
    fx, fy = corners[0]
    page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.45, steps=5)
    page.mouse.up()
    page.click("#zone-save")
    expect(page.locator(".toast-ok").last).to_contain_text("kerb-east")
    page.wait_for_function(
        "async () => { const r = await fetch('/api/cameras/hang-bong-01/zones');"
        " const z = (await r.json()).find(z => z.name === 'kerb-east');"
        " return Math.abs(z.polygon[0][0] - 0.5) < 0.01; }"
    )
    # Delete asks for a second click, then the zone is gone everywhere.
    page.click("#zone-delete")
    expect(page.locator("#zone-delete")).to_have_text("Click again to delete")
    page.click("#zone-delete")
    expect(page.locator('.zone-chip[data-zone="kerb-east"]')).to_have_count(0)
    names = [z["name"] for z in api_get(page, world, "/api/cameras/hang-bong-01/zones")]
    assert names == ["sidewalk-north", "no-parking"]
    assert "kerb-east" not in [z.name for z in camera.replaced[-1]]
    unexpected = [e for e in errors if "status of 422" not in e]  # the bad window above
    assert not unexpected, unexpected


def test_dashboard_draws_charts(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    sign_in(page, world, "supervisor")
    expect(page.locator(".kpi")).to_have_count(4)
    expect(page.locator("#chart-day svg rect.bar").first).to_be_visible()
    since = page.input_value("#since")
    stats = api_get(page, world, "/api/stats")
    days = [day for day, n in stats["by_day"].items() if n and day >= since]
    assert page.locator("#chart-day svg rect.bar").count() == len(days)
    assert page.locator("#chart-type svg rect.bar").count() == len(stats["by_type"])
    assert page.locator("#chart-zone svg rect.bar").count() == min(12, len(stats["by_zone"]))
    expect(page.locator(".kpi-value").first).to_have_text(str(sum(stats["by_type"].values())))
    shot(page, "dashboard")
    assert not errors, errors


def test_language_switch_changes_strings_and_persists(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    sign_in(page, world, "supervisor")
    nav = page.locator('.nav-link[data-page="dashboard"]')
    expect(nav).to_have_text("Dashboard")

    page.select_option("#lang-select", "vi")
    expect(nav).to_have_text("Tổng quan")
    expect(page.locator("h1")).to_have_text("Tổng quan")
    expect(page.locator("#sign-out")).to_have_text("Đăng xuất")
    page.wait_for_function(
        "async () => (await (await fetch('/api/auth/me')).json()).language === 'vi'"
    )
    page.reload()
    expect(nav).to_have_text("Tổng quan")
    assert page.evaluate("document.documentElement.lang") == "vi"

    page.select_option("#lang-select", "zh")
    expect(nav).to_have_text("统计概览")
    page.goto(f"{world.url}/wall.html")
    expect(page.locator("#alerts-heading")).to_have_text("实时告警")
    wait_for_pictures(page, ".alert-card img", 6)
    shot(page, "wall-zh")
    assert api_get(page, world, "/api/auth/me")["language"] == "zh"

    # A new browser signing in as the same user gets the language chosen before.
    other, _ = open_page(browser, contexts)
    sign_in(other, world, "supervisor")
    expect(other.locator('.nav-link[data-page="dashboard"]')).to_have_text("统计概览")
    other.select_option("#lang-select", "en")
    expect(other.locator('.nav-link[data-page="dashboard"]')).to_have_text("Dashboard")
    assert not errors, errors


def test_language_chosen_on_the_sign_in_page_is_kept(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    page.goto(f"{world.url}/index.html")
    page.select_option("#lang-select", "vi")
    expect(page.locator("#signin-submit")).to_have_text("Đăng nhập")
    page.fill("#username", "operator")
    page.fill("#password", PASSWORDS["operator"])
    page.click("#signin-submit")
    wait_for_page(page, "review.html")
    expect(page.locator('.nav-link[data-page="review"]')).to_have_text("Xét duyệt")
    expect(page.locator("#btn-confirm")).to_contain_text("Xác nhận")
    assert api_get(page, world, "/api/auth/me")["language"] == "vi"
    page.select_option("#lang-select", "en")
    expect(page.locator('.nav-link[data-page="review"]')).to_have_text("Review")
    page.wait_for_function(
        "async () => (await (await fetch('/api/auth/me')).json()).language === 'en'"
    )
    assert not errors, errors


def test_translations_have_the_same_keys() -> None:
    folder = Path(__file__).resolve().parents[2] / "api" / "static" / "i18n"
    tables = {p.stem: json.loads(p.read_text("utf-8")) for p in folder.glob("*.json")}
    assert set(tables) == {"en", "vi", "zh"}
    keys = set(tables["en"])
    for lang, table in tables.items():
        assert set(table) == keys, f"{lang}.json differs: {set(table) ^ keys}"
        untranslated = [k for k, v in table.items() if not str(v).strip()]
        assert not untranslated, f"{lang}.json has empty strings: {untranslated}"


def test_static_files_use_no_external_resources() -> None:
    static = Path(__file__).resolve().parents[2] / "api" / "static"
    for path in static.rglob("*"):
        if path.suffix in {".html", ".js", ".css"}:
            text = path.read_text("utf-8")
            assert "http://" not in text.replace("http://www.w3.org/2000/svg", ""), path
            assert "https://" not in text, path
            assert "innerHTML" not in text, path
            assert " onclick=" not in text and " onload=" not in text, path


def test_dashboard_shows_kpi_and_hot_spot_tables(
    world: World, browser: Browser, contexts: list[BrowserContext]
) -> None:
    page, errors = open_page(browser, contexts)
    sign_in(page, world, "supervisor")
    expect(page.locator("#kpi-zone tfoot tr")).to_have_count(1)
    # The page's period is in its export link; the tables must show what the API says for it.
    href = page.get_attribute("#export-csv", "href") or ""
    query = href.split("?", 1)[1]
    assert "start=" in query and "end=" in query
    teams = api_get(page, world, f"/api/kpis?{query}&by=team")["rows"]
    expect(page.locator("#kpi-team tbody tr")).to_have_count(len(teams))
    first = page.locator("#kpi-team tbody tr").first
    expect(first.locator("th")).to_have_text(teams[0]["group"])
    expect(first.locator("td.col-discovered")).to_have_text(str(teams[0]["discovered"]))
    total = api_get(page, world, f"/api/kpis?{query}&by=all")["rows"][0]
    expect(page.locator("#kpi-zone tfoot td.col-discovered")).to_have_text(str(total["discovered"]))
    ledger = api_get(page, world, f"/api/ledger?{query}&min_violations=2&limit=20")
    expect(page.locator("#ledger-table tr.spot-row")).to_have_count(len(ledger["spots"]))
    month = page.get_attribute("#report-public", "href") or ""
    assert "/api/reports/monthly.pdf?month=" in month and month.endswith("variant=public")
    page.select_option("#kpi-period", "lastMonth")
    expect(page.locator("#export-csv")).not_to_have_attribute("href", href)
    page.select_option("#lang-select", "vi")
    expect(page.locator("#kpi-heading")).to_have_text("Hiệu quả theo tổ và theo vùng")
    shot(page, "dashboard-kpis", full_page=True)
    page.select_option("#lang-select", "en")  # the choice is stored for the user: undo it
    page.wait_for_function(
        "async () => (await (await fetch('/api/auth/me')).json()).language === 'en'"
    )
    assert not errors, errors


def test_operator_suppresses_a_spot_and_patrol_reports_a_violation(
    world: World, browser: Browser, contexts: list[BrowserContext], tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    bench_id = world.store_incident("tran-phu-03", "bus-stop", now - timedelta(seconds=5))
    page, errors = open_page(browser, contexts)
    sign_in(page, world, "operator")
    page.goto(f"{world.url}/review.html?id={bench_id}")
    expect(page.locator("#d-status")).to_have_attribute("data-status", "new")
    page.click("#btn-suppress")
    expect(page.locator("#suppress-reason")).to_be_focused()
    page.fill("#suppress-reason", "a bench at the bus stop")
    page.locator("#suppress-form button[type=submit]").click()
    expect(page.locator(".toast-ok").last).to_contain_text("Spot suppressed")
    expect(page.locator(f'.queue-item[data-id="{bench_id}"]')).to_have_count(0)
    # Suppressed, not gone: the toggle shows it again, marked.
    page.check("#show-suppressed")
    item = page.locator(f'.queue-item[data-id="{bench_id}"]')
    expect(item).to_have_count(1)
    item.click()
    expect(page.locator(".chip.suppressed")).to_be_visible()
    shot(page, "review-suppressed")
    [spot] = api_get(page, world, "/api/suppressions")
    assert spot["reason"] == "a bench at the bus stop" and spot["created_by"] == "operator"
    with Session(world.runtime.engine) as session, session.begin():
        suppression.lift(session, spot["id"], "test")  # leave the shared world as it was
    assert not errors, errors

    phone, phone_errors = open_page(browser, contexts, PHONE)
    sign_in(phone, world, "patrol")
    phone.click("#report-box summary")
    phone.select_option("#report-type", "sidewalk_obstruction")
    phone.fill("#report-place", "14 Hang Bong, crates on the pavement")
    phone.fill("#report-note", "shop goods out again")
    photo = tmp_path / "crates.jpg"
    photo.write_bytes(jpeg(street_scene(4, [])))
    phone.set_input_files("#report-photo", str(photo))
    shot(phone, "patrol-report", full_page=True)
    phone.locator("#report-form button[type=submit]").click()
    expect(phone.locator(".toast-ok").last).to_contain_text("Report sent")
    with Session(world.runtime.engine) as session:
        row = session.scalar(
            select(IncidentRow).where(IncidentRow.place == "14 Hang Bong, crates on the pavement")
        )
        assert row is not None
        assert (row.source, row.status, row.type, row.reported_by) == (
            "reported",
            "new",
            "sidewalk_obstruction",
            "patrol",
        )
        assert [e.kind for e in row.evidence] == ["report_photo"]
    assert not phone_errors, phone_errors
