"""The UI in a real browser (sandboxed Chromium): what a person does with the app.

The README fixes only what a person needs: a file upload, the classes to choose (check boxes
or a multiple choice labelled by the class names), a threshold control, a button labelled
"Detect" (or "Найти"), and the result as a picture with boxes and a table. One visit (one
browser start) serves both tests; the screenshots go into the feedback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

BUTTON = re.compile(r"detect|найти", re.I)
THRESHOLD = re.compile(r"confidence|threshold|уверенн|порог", re.I)
PICTURES = """() => [...document.querySelectorAll('img, canvas')]
  .filter(e => e.getBoundingClientRect().width >= 100 && e.getBoundingClientRect().height >= 60)
  .map(e => e.tagName === 'CANVAS' ? 'canvas:' + e.toDataURL().length : 'img:' + e.src.slice(-200))
"""
TABLE_WITH = """(word) => [...document.querySelectorAll('table, [role=grid], [role=table]')]
  .some(t => t.innerText.includes(word))"""
FIND_S = 15
"""Seconds to find a control on a loaded page."""
RESULT_S = 60
"""Seconds for the result to appear after Detect."""
PICTURE_S = 15
"""Seconds for the picture with boxes, once the table is there (a page may draw it later)."""
UPLOAD_S = 5
"""Seconds for the uploaded picture's preview (pages without one wait this long)."""
NEW_PICTURE = f"(before) => ({PICTURES})().some(p => !before.includes(p))"


@dataclass
class Visit:
    """What a person saw, step by step; ``stopped`` says where it went wrong."""

    upload: bool = False
    classes_shown: list[str] = field(default_factory=list)
    controls: int = 0
    table: bool = False
    picture: bool = False
    stopped: str = ""


@pytest.fixture(scope="module")
def visit(app, api, public_data, artifacts):
    seen = Visit()
    with app.page() as (page, _blocked):
        try:
            _walk(page, seen, api.shown_classes(), public_data / "astronaut.png", artifacts)
        except Exception as exc:  # a step timed out or the page broke: the visit stops there
            seen.stopped = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            page.screenshot(path=str(artifacts / "ui_result.png"), full_page=True)
    return seen


def _walk(page, seen: Visit, classes, picture, artifacts) -> None:
    upload = page.locator("input[type=file]").first
    upload.wait_for(state="attached", timeout=FIND_S * 1000)
    seen.upload = True
    page.screenshot(path=str(artifacts / "ui_page.png"), full_page=True)
    text = page.inner_text("body")
    seen.classes_shown = [c for c in classes if c in text]
    seen.controls = page.locator("input[type=range], input[type=number], select").count()
    shown = page.evaluate(PICTURES)
    # the bytes, not a path: the browser runs as nobody and may not read the course's folders
    upload.set_input_files(
        {"name": picture.name, "mimeType": "image/png", "buffer": picture.read_bytes()}
    )
    page.wait_for_timeout(1_000)
    _new_picture(page, shown, seconds=UPLOAD_S)  # the upload's preview, where the page shows one
    _choose(page, "face")
    threshold = page.get_by_label(THRESHOLD)
    if threshold.count():
        threshold.first.fill("0.3", timeout=FIND_S * 1000)
    before = page.evaluate(PICTURES)
    page.get_by_role("button", name=BUTTON).first.click(timeout=FIND_S * 1000)
    try:
        page.wait_for_function(TABLE_WITH, arg="face", timeout=RESULT_S * 1000)
        seen.table = True
    finally:
        seen.picture = _new_picture(page, before)
        page.screenshot(path=str(artifacts / "ui_result.png"), full_page=True)


def _new_picture(page, before: list[str], seconds: float = PICTURE_S) -> bool:
    """Whether a picture the page did not show before Detect appears (waited for: on a busy
    machine the image may come well after the table)."""
    try:
        page.wait_for_function(NEW_PICTURE, arg=before, timeout=seconds * 1000)
    except Exception:  # Playwright's TimeoutError, or the page went away
        return False
    return True


def _choose(page, name: str) -> None:
    """Tick the class ``name`` (a check box labelled with it, or an option of a list)."""
    box = page.get_by_label(name, exact=True)
    if box.count():
        box.first.check(timeout=FIND_S * 1000)
        return
    for select in page.locator("select").all():
        if select.locator(f"option:text-is('{name}')").count():
            select.select_option(label=name)
            return


@pytest.mark.points(5, component="ui")
def test_the_page_offers_upload_classes_and_a_threshold(visit):
    """The page has a file upload, the class names to choose and a threshold control."""
    assert visit.upload, f"no file upload on the page ({visit.stopped})"
    assert len(visit.classes_shown) >= 2, (
        f"the page should show the classes to choose; it shows {visit.classes_shown}"
    )
    assert visit.controls, "the page has no control for the threshold (a slider or a number)"


@pytest.mark.points(10, component="ui")
def test_upload_choose_and_detect_shows_boxes_and_a_table(visit, credit):
    """Upload the astronaut, choose 'face' and a threshold, press Detect: a picture with boxes
    and a table that lists the face appear."""
    credit((visit.table + visit.picture) / 2, f"table: {visit.table}, picture: {visit.picture}")
    assert visit.table, f"no table listing the face appeared after Detect ({visit.stopped})"
    assert visit.picture, "no new picture (the image with boxes) appeared after Detect"
