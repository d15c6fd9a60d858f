"""Screenshots of the built documentation, taken in headless Chromium.

Opens pages of ``docs/_build/html`` (build it first: ``sphinx-build -W --keep-going -b html docs
docs/_build/html``) in Debian's Chromium driven by Playwright (no browser download), with every
non-file request blocked and counted, and writes palette PNGs into ``docs/screenshots/``:
``docs_getting_started_zh.png`` (the Chinese getting-started page) and ``docs_notebook.png`` (an
executed example notebook). Fails when a page asks for anything over the network, logs a
JavaScript error, or is missing.

Usage: ``python scripts/docs_screenshots.py [--html docs/_build/html] [--chromium /usr/bin/chromium]``.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAGES = {
    "docs_getting_started_zh.png": "getting_started_zh.html",
    "docs_notebook.png": "examples/poyang_phosphorus_by_county.html",
}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def _watch(page: Any) -> tuple[list[str], list[str]]:
    """Block and record every non-file request of ``page``; record its JavaScript errors."""
    remote: list[str] = []
    errors: list[str] = []

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith("file:"):
            request_route.continue_()
        else:
            remote.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return remote, errors


def shoot(html_dir: Path, chromium: str, out_dir: Path) -> list[Path]:
    """Write one PNG per page of :data:`PAGES`; return their paths."""
    from PIL import Image  # lazy on purpose: pillow and playwright are optional (the [docs] extra)
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        for name, page_path in PAGES.items():
            file = html_dir / page_path.split("#")[0]
            if not file.is_file():
                raise SystemExit(f"{file} is missing: build the docs first (sphinx-build ... docs docs/_build/html)")
            height = 1500 if "examples/" in page_path else 820
            page = browser.new_page(viewport={"width": 1200, "height": height})
            remote, errors = _watch(page)
            page.goto(file.as_uri() + ("#" + page_path.split("#")[1] if "#" in page_path else ""))
            page.wait_for_load_state("networkidle")
            if remote or errors:
                raise SystemExit(f"{page_path}: network requests {remote}, JavaScript errors {errors}")
            image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
            target = out_dir / name
            image.quantize(colors=128).save(target, optimize=True)
            written.append(target)
            page.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--html", default=str(REPO / "docs" / "_build" / "html"), help="built HTML folder")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"), help="output folder")
    args = parser.parse_args(argv)
    for path in shoot(Path(args.html), args.chromium, Path(args.out)):
        print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {path.stat().st_size / 1024:.0f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
