"""Screenshots of every dashboard page at 1400 px wide, into docs/screenshots/ (small palette PNGs).

Run against a running ecomops (e.g. `make run`, which seeds the demo store):

    .venv/bin/python docs/screenshots.py --base-url http://127.0.0.1:8000 --user demo --password demo-pass-2026

It signs in through the login form, opens each page, waits for its charts to be drawn (`data-ready`), and
saves `docs/screenshots/<name>.png`. Pages that need an object (a product, a draft, a conversation, a job)
follow the first link of their list page; a list that is empty skips that page and says so. The admin page
is taken as the ops user when `--ops-user` is given. Needs Debian's chromium (`apt-get install chromium`) and
Pillow (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "screenshots"
MAX_BYTES = 300_000
WIDTH = 1400
MAX_HEIGHT = 3600  # long lists (the knowledge base, the catalogue) are cut here; the top of the page is what matters

# name, path under /stores/<slug>/ (or absolute when it starts with "/"), CSS selector of a link to follow
PAGES: list[tuple[str, str, str | None]] = [
    ("overview", "", None),
    ("catalog", "catalog/", None),
    ("catalog-search-empty", "catalog/?q=zzzz-no-such-product", None),
    ("product", "catalog/", ".table tbody a"),
    ("copywriter", "copywriter/", None),
    ("copywriter-draft", "copywriter/", "#copywriter-drafts tbody a"),
    ("support-inbox", "support/", None),
    ("support-conversation", "support/", "#inbox-table tbody tr[data-conversation] a"),
    ("support-knowledge", "support/knowledge/", None),
    ("support-classifier", "support/classifier/", None),
    ("support-analytics", "support/analytics/", None),
    ("support-try", "support/try/", None),
    ("recommendations", "recommendations/", None),
    ("analytics", "recommendations/analytics/", None),
    ("network", "network/", None),
    ("network-map", "network/map/", None),
    ("network-incidents", "network/incidents/", None),
    ("network-scenarios", "network/scenarios/", None),
    ("network-topology", "network/topology/", None),
    ("network-advisor", "network/advisor/", None),
    ("jobs", "jobs/", None),
    ("job-detail", "jobs/", "#jobs-table tbody a"),
    ("api-root", "/api/v1/", None),
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


def settle(page) -> None:
    """Wait until the page's charts say they are drawn (or empty); a chart that never does is left as it is."""
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
    page.wait_for_timeout(400)


def shoot(page, name: str, out: Path) -> None:
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
        for name, path, follow in PAGES:
            if wanted and name not in wanted:
                continue
            page.goto(path if path.startswith("http") else (base + path if path.startswith("/") else store_base + path))
            if follow:
                link = page.locator(follow).first
                if link.count() == 0:
                    print(f"{name:<24} skipped: {path} lists nothing to open")
                    continue
                link.click()
            settle(page)
            shoot(page, name, args.out)
        if args.ops_user and (not wanted or "admin" in wanted):
            context = browser.new_context(viewport={"width": WIDTH, "height": 900})
            admin = context.new_page()
            log_in(admin, base, args.ops_user, args.ops_password)
            admin.goto(f"{base}/admin/")
            settle(admin)
            shoot(admin, "admin", args.out)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
