"""Screenshots of every dashboard page at 1400 px wide, into docs/screenshots/ (small palette PNGs).

Run against a running ecomops (e.g. `make run`, which seeds the demo store; train the demo's forecast first with
`manage.py retrain_forecast --store demo` so the inventory pages have something to show):

    .venv/bin/python docs/screenshots.py --base-url http://127.0.0.1:8000 --user demo --password demo-pass-2026

It signs in through the login form, opens each page of PAGES (name, url, wait-for selector), waits for that
selector and for its charts to be drawn (`data-ready`), and saves `docs/screenshots/<name>.png`. Pages that need
an object (a product, a draft, a conversation, a job) follow the first link of their list page; a list that is
empty skips that page and says so. Exits 1 when a page was skipped or its selector never appeared. The admin page
is taken as the ops user when `--ops-user` is given. Needs Debian's chromium (`apt-get install chromium`) and
Pillow (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

OUT = Path(__file__).resolve().parent / "screenshots"
MAX_BYTES = 300_000
WIDTH = 1400
MAX_HEIGHT = 3600  # long lists (the knowledge base, the catalogue) are cut here; the top of the page is what matters


@dataclass(frozen=True)
class Page:
    """One screenshot. `path` is under /stores/<slug>/ (absolute when it starts with "/"); `wait_for` is a CSS
    selector that must be visible before the shot (the page's main content, e.g. a chart that says it is drawn:
    `#x[data-ready="1"]`); `follow` is a link to click first (pages that need an object: the first row of a list)."""

    name: str
    path: str
    wait_for: str | None = None
    follow: str | None = None


CHART_DRAWN = '.chart[data-ready="1"]'

# Add a page here: Page(name, url, wait-for selector). Keep docs/screenshots/README.md's list in step.
PAGES: list[Page] = [
    Page("overview", "", "#revenue-chart[data-ready='1']"),
    Page("catalog", "catalog/", ".table tbody tr"),
    Page("catalog-search", "catalog/?q=earbuds+black", ".table tbody tr"),
    Page("search", "search/", "main h1"),
    Page("categories", "categories/", "main h1"),
    Page("catalog-search-empty", "catalog/?q=zzzz-no-such-product", "main"),
    Page("product", "catalog/", "#product-forecast", follow=".table tbody a"),
    Page("copywriter", "copywriter/", "#copywriter-drafts"),
    Page("copywriter-draft", "copywriter/", "main h1", follow="#copywriter-drafts tbody a"),
    Page("support-inbox", "support/", "#inbox-table"),
    Page("support-conversation", "support/", "main h1", follow="#inbox-table tbody tr[data-conversation] a"),
    Page("support-knowledge", "support/knowledge/", "main h1"),
    Page("support-classifier", "support/classifier/", "main h1"),
    Page("support-analytics", "support/analytics/", CHART_DRAWN),
    Page("support-try", "support/try/", "main h1"),
    Page("recommendations", "recommendations/", "main h1"),
    Page("analytics", "recommendations/analytics/", "#lifecycle-chart[data-ready='1']"),
    Page("inventory", "inventory/", "#forecast-chart[data-ready='1']"),
    Page("inventory-product", "inventory/", "#forecast-chart[data-ready='1']", follow="#stockout-soon tbody td a"),
    Page("purchase-order", "inventory/", "#po-lines", follow="#purchase-orders tbody a"),
    Page("network", "network/", "main h1"),
    Page("network-map", "network/map/", "main h1"),
    Page("network-incidents", "network/incidents/", "main h1"),
    Page("network-scenarios", "network/scenarios/", "main h1"),
    Page("network-topology", "network/topology/", "main h1"),
    Page("network-advisor", "network/advisor/", "main h1"),
    Page("jobs", "jobs/", "#jobs-table"),
    Page("job-detail", "jobs/", "#job-details", follow="#jobs-table tbody a"),
    Page("api-root", "/api/v1/", "body"),
]


def small_png(raw: bytes) -> bytes:
    """A palette PNG (UI screenshots have few colours); fewer colours until it fits MAX_BYTES."""
    from PIL import Image

    image = Image.open(io.BytesIO(raw)).convert("RGB")
    if image.height > MAX_HEIGHT:
        image = image.crop((0, 0, image.width, MAX_HEIGHT))
    for colours in (64, 32, 16, 8):
        buf = io.BytesIO()
        image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            buf, format="PNG", optimize=True)
        if buf.tell() <= MAX_BYTES:
            return buf.getvalue()
    return buf.getvalue()


def settle(page, wait_for: str | None = None) -> bool:
    """Wait for the page's own selector, then until every chart says it is drawn (or empty). False (and a note)
    when something never showed: the shot is still taken, and the caller reports it."""
    ok = True
    if wait_for:
        try:
            page.locator(wait_for).first.wait_for(state="attached", timeout=45_000)
        except Exception:  # noqa: BLE001 - report, then take the shot anyway: a broken page is worth seeing
            print(f"  ({wait_for} never appeared)", file=sys.stderr)
            ok = False
    try:
        page.wait_for_load_state("networkidle", timeout=15_000)
    except Exception:  # noqa: BLE001 - a page that keeps polling never goes idle; the charts check below still runs
        pass
    try:
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.chart')).every(function (el) { return el.dataset.ready === '1'; })",
            timeout=45_000)
    except Exception:  # noqa: BLE001 - a screenshot of a page whose chart did not draw is still worth taking
        print("  (a chart did not report ready)", file=sys.stderr)
        ok = False
    page.wait_for_timeout(400)
    return ok


def shoot(page, name: str, out: Path) -> None:
    # from the top: a page opened at an anchor (…#forecast) would otherwise show the sticky header mid-page
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(200)
    data = small_png(page.screenshot(full_page=True))
    (out / f"{name}.png").write_bytes(data)
    print(f"{name:<24} {page.url}  {len(data) / 1000:.0f} KB")


def log_in(page, base_url: str, user: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state("networkidle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--store", default="demo")
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="demo-pass-2026")
    parser.add_argument("--ops-user", default="ops", help="staff login for the admin screenshot ('' to skip)")
    parser.add_argument("--ops-password", default="ops-pass-2026")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", nargs="*", help="page names to take (default: all)")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    base = args.base_url.rstrip("/")
    store_base = f"{base}/stores/{args.store}/"
    wanted = set(args.only or [])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.set_default_timeout(30_000)
        if not wanted or "login" in wanted:
            page.goto(f"{base}/login/")
            shoot(page, "login", args.out)
        log_in(page, base, args.user, args.password)
        problems = []
        for spec in PAGES:
            if wanted and spec.name not in wanted:
                continue
            path = spec.path
            page.goto(path if path.startswith("http") else (base + path if path.startswith("/") else store_base + path))
            if spec.follow:
                link = page.locator(spec.follow).first
                if link.count() == 0:
                    print(f"{spec.name:<24} skipped: {path} lists nothing to open ({spec.follow})")
                    problems.append(spec.name)
                    continue
                link.click()
                page.wait_for_load_state("load")
            if not settle(page, spec.wait_for):
                problems.append(spec.name)
            shoot(page, spec.name, args.out)
        if args.ops_user and (not wanted or "admin" in wanted):
            context = browser.new_context(viewport={"width": WIDTH, "height": 900})
            admin = context.new_page()
            log_in(admin, base, args.ops_user, args.ops_password)
            admin.goto(f"{base}/admin/")
            settle(admin)
            shoot(admin, "admin", args.out)
        browser.close()
    if problems:
        print(f"not as expected: {', '.join(problems)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
