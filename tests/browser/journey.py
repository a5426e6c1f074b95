"""What every journey checks on every page it visits: a screenshot kept under test-artifacts/,
the page's weight as sent (the document and the stylesheets and scripts it loads, compressed, as
the browser received them; plotly.js is the charts' and left out), and that every action on it can
be reached with the Tab key alone (links, buttons and fields are real, focusable elements; Enter
works on them natively)."""
from __future__ import annotations

import re
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "journeys"

RETURNEE_BUDGET = 30 * 1024
STAFF_BUDGET = 100 * 1024

# Bytes of the page and what it loaded, as sent (encodedBodySize: compressed, the same whether the
# browser had it cached or not). plotly.js is the charts' own weight ("before charts").
_WEIGHT = """() => {
  const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
  return entries.filter(e => !/plotly/.test(e.name)).map(e => [e.name, e.encodedBodySize || e.transferSize || 0]);
}"""

# Every visible action on the page: what a keyboard user must be able to reach. One radio of a
# group is enough (arrow keys move within the group); a closed <details> hides its content.
_ACTIONS = """() => {
  const selector = 'a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), summary';
  const visible = el => { const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && s.display !== 'none'; };
  const key = el => el.type === 'radio' ? 'radio:' + el.name : el.dataset.journeyId;
  let n = 0;
  const actions = [];
  for (const el of document.querySelectorAll(selector)) {
    el.dataset.journeyId = 'j' + (n++);
    if (el.closest('.js-plotly-plot')) continue;  // the chart's own toolbar; its table carries the figures
    if (!visible(el)) continue;
    actions.push([key(el), el.outerHTML.slice(0, 120), el.tabIndex]);
  }
  // Anything made clickable without being a link, a button or a field cannot be reached.
  const fake = [...document.querySelectorAll('[onclick], [role=button]:not(button):not(a)')]
    .filter(el => el.tabIndex < 0).map(el => el.outerHTML.slice(0, 120));
  return {actions, fake};
}"""

_FOCUSED = """() => { const el = document.activeElement;
  if (!el || el === document.body) return null;
  return el.type === 'radio' ? 'radio:' + el.name : (el.dataset.journeyId || null); }"""


class Journey:
    """One person's way through the product. `see(label)` after each page the person reaches."""

    def __init__(self, page, name: str, budget: int):
        self.page, self.name, self.budget = page, name, budget
        self.steps = 0
        self.folder = ARTIFACTS / name
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.weights: list[tuple[str, int]] = []

    def see(self, label: str, *, keyboard: bool = True) -> None:
        page = self.page
        page.wait_for_load_state("load")
        self.steps += 1
        slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
        page.screenshot(path=str(self.folder / f"{self.steps:02d}-{slug}.png"), full_page=True)
        weight = sum(size for _, size in page.evaluate(_WEIGHT))
        self.weights.append((label, weight))
        assert weight > 0, f"{label}: nothing measured"
        assert weight <= self.budget, f"{label}: {weight:,} bytes sent, over the {self.budget:,} budget ({page.url})"
        if keyboard:
            self.assert_keyboard_reachable(label)

    def assert_keyboard_reachable(self, label: str) -> None:
        page = self.page
        found = page.evaluate(_ACTIONS)
        assert not found["fake"], f"{label}: clickable elements the keyboard cannot reach: {found['fake']}"
        wanted = {key: html for key, html, tabindex in found["actions"]}
        unreachable = {key: html for key, html, tabindex in found["actions"] if tabindex < 0}
        assert not unreachable, f"{label}: actions taken out of the tab order: {list(unreachable.values())}"
        scroll = page.evaluate("() => [window.scrollX, window.scrollY]")
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.getSelection().removeAllRanges(); }")
        page.locator("body").focus() if page.locator("body").count() else None
        reached: set[str] = set()
        first = None
        # Until the focus comes round to the first element again (date and time fields take a
        # stop per part, so there are more stops than actions), or everything was reached.
        for _ in range(4 * len(wanted) + 20):
            page.keyboard.press("Tab")
            focused = page.evaluate(_FOCUSED)
            if not focused:
                continue
            if focused == first and len(reached) > 1:
                break
            first = first or focused
            reached.add(focused)
            if reached >= wanted.keys():
                break
        missing = [html for key, html in wanted.items() if key not in reached]
        assert not missing, f"{label}: not reached with Tab: {missing[:5]} ({page.url})"
        page.evaluate("([x, y]) => { document.activeElement && document.activeElement.blur(); window.scrollTo(x, y); }", scroll)


def log_in(page, email: str, password: str | None = None, home: str = r"/(dashboard|worklist)/") -> None:
    """From the login page, with the keyboard: e-mail, password, Enter; then the account's home."""
    from monitor.demo import DEMO_PASSWORD

    page.fill("#email", email)
    page.fill("#password", password or DEMO_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(home))


def scan_for(page, secrets: list[str]) -> None:
    """None of these strings (names, phone numbers) anywhere on the page, its source included."""
    html = page.content()
    text = page.inner_text("body")
    for secret in secrets:
        assert secret not in html and secret not in text, f"{secret!r} shown on {page.url}"
