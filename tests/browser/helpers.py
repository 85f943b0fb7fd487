"""What the browser tests do to a page: open it, check it fits and logs no error, keep a picture.

Screenshots go to $ORCHESTRATOR_SCREENSHOTS (default `test-artifacts/screenshots/`, ignored
by git) so a reviewer can look at the pages a run saw; a failing test leaves one named
`FAILED-<test>.png` there too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture says so: skipped, or failed where required
    expect = None

if TYPE_CHECKING:
    from playwright.sync_api import Page, Response

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("ORCHESTRATOR_SCREENSHOTS") or REPO / "test-artifacts" / "screenshots")

# A laptop screen, and a narrow window (a phone, or a browser beside an editor).
WIDE = {"width": 1366, "height": 850}
NARROW = {"width": 400, "height": 850}
VIEWPORTS = {"wide": WIDE, "narrow": NARROW}


def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as SCREENSHOTS/<name>.png and return the path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name).strip('-')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def console_errors(page: Page) -> list[str]:
    """What the page logged as an error so far: console.error, uncaught exceptions, and
    resources that failed to load (a 404 stylesheet shows here). Set up by the page fixture."""
    return page.context.console_errors  # type: ignore[attr-defined]


def visit(page: Page, path: str, status: int = 200) -> Response:
    """Open a dashboard path and wait until it has loaded; fail on an unexpected status."""
    response = page.goto(path, wait_until="load")
    assert response is not None, f"no response for {path}"
    assert response.status == status, f"GET {path} answered {response.status}: {page.content()[:2000]}"
    return response


# The elements that stick out of the viewport, innermost last, skipping those that a container
# which scrolls or clips holds in (a wide table in its scrolling wrapper is fine). An absolutely
# placed element escapes the containers inside its nearest positioned ancestor: a hidden label
# in a scrolling table still widens the page unless the wrapper is positioned.
_OVERFLOWING = """
() => {
  const width = document.documentElement.clientWidth;
  const clips = (style) => ["auto", "scroll", "hidden", "clip"].includes(style.overflowX);
  const clipped = (el) => {
    let escaping = getComputedStyle(el).position === "absolute";
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (!escaping && clips(style)) return true;
      if (escaping && style.position !== "static") {
        escaping = false;
        if (clips(style)) return true;
      }
    }
    return false;
  };
  const out = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1 && !clipped(el)) {
      const classes = typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\\s+/).join(".") : "";
      out.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes} (right edge at ${Math.round(box.right)}px)`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, culprits: out.slice(-8)};
}
"""


def assert_fits_horizontally(page: Page) -> None:
    """The page scrolls only vertically: nothing makes the whole page wider than the window."""
    found = page.evaluate(_OVERFLOWING)
    assert found["scrollWidth"] <= found["width"], (
        f"{page.url} is {found['scrollWidth']}px wide in a {found['width']}px window; "
        f"sticking out: {', '.join(found['culprits']) or 'nothing found'}"
    )


def assert_no_console_errors(page: Page) -> None:
    errors = console_errors(page)
    assert not errors, f"{page.url} logged errors:\n" + "\n".join(errors)
