"""Helpers for the dashboard's browser tests (issue 12): one Daphne per test module, a logged-in page that
records console errors, and readers for what a merchant sees in a plotly chart."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, log_in
from tests.ecomops.live_servers import start_daphne


@pytest.fixture(scope="module")
def live_url(django_db_setup, django_db_blocker):
    """A Daphne subprocess on the test database, shared by the tests of one module (each test writes and
    flushes its own rows; the server keeps no state between requests)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the browser tests need PostgreSQL (DATABASE_URL): Daphne runs in another process")
    with django_db_blocker.unblock():
        daphne, base_url = start_daphne()
    yield base_url
    daphne.stop()


@contextmanager
def merchant_page(base_url: str, username: str, password: str, *, width: int = 1400):
    """A headless Chromium page, logged in through the form; `page.errors` collects console and page errors."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        try:
            page.goto(f"{base_url}/login/")
            log_in(page, username, password)
            page.wait_for_load_state("load")
            yield page
        except Exception:
            page.screenshot(path="/tmp/ecomops-dashboard-failure.png", full_page=True)
            raise
        finally:
            browser.close()


def chart(page, element_id: str) -> dict:
    """What the chart shows: its traces (type, mode, x, y) and its axes (title, range, ticksuffix), or
    {"empty": text} when it shows the empty state. Waits until the chart says it is drawn."""
    page.wait_for_function(f"document.getElementById({element_id!r}) && document.getElementById({element_id!r}).dataset.ready === '1'")
    return page.evaluate("""(id) => {
      const el = document.getElementById(id);
      if (el.dataset.empty) return {empty: el.querySelector('.chart-empty').textContent};
      const fl = el._fullLayout, axis = (a) => a ? {title: a.title && a.title.text, range: a.range.slice(),
                                                    ticksuffix: a.ticksuffix, tickvals: (a._vals || []).map(v => v.text)} : null;
      return {traces: el.data.map(t => ({type: t.type, mode: t.mode, name: t.name, x: t.x, y: t.y})),
              xaxis: axis(fl.xaxis), yaxis: axis(fl.yaxis), yaxis2: axis(fl.yaxis2)};
    }""", element_id)
