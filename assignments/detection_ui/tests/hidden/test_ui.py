"""The UI in a real browser (sandboxed Chromium): what a person does with the app.

The README fixes only what a person needs: a file upload, the classes to choose (check boxes
or a multiple choice labelled by the class names), a threshold control, a button labelled
"Detect" (or "Найти"), and the result as a picture with boxes and a table. The screenshots
go into the feedback.
"""

from __future__ import annotations

import re

import pytest

BUTTON = re.compile(r"detect|найти", re.I)
THRESHOLD = re.compile(r"confidence|threshold|уверенн|порог", re.I)
PICTURES = """() => [...document.querySelectorAll('img, canvas')]
  .filter(e => e.getBoundingClientRect().width >= 100 && e.getBoundingClientRect().height >= 60)
  .map(e => e.tagName === 'CANVAS' ? 'canvas:' + e.toDataURL().length : 'img:' + e.src.slice(-200))
"""
TABLE_WITH = """(word) => [...document.querySelectorAll('table, [role=grid], [role=table]')]
  .some(t => t.innerText.includes(word))"""


@pytest.mark.points(5, component="ui")
def test_the_page_offers_upload_classes_and_a_threshold(app, api, artifacts):
    """The page has a file upload, the class names to choose and a threshold control."""
    with app.page() as (page, _visit):
        page.locator("input[type=file]").first.wait_for(state="attached", timeout=30_000)
        page.screenshot(path=str(artifacts / "ui_page.png"), full_page=True)
        text = page.inner_text("body")
        shown = [c for c in api.shown_classes() if c in text]
        controls = page.locator("input[type=range], input[type=number], select").count()
    assert len(shown) >= 2, f"the page should show the classes to choose; it shows {shown}"
    assert controls, "the page has no control for the threshold (a slider or a number)"


@pytest.mark.points(10, component="ui")
def test_upload_choose_and_detect_shows_boxes_and_a_table(app, public_data, artifacts, credit):
    """Upload the astronaut, choose 'face' and a threshold, press Detect: a picture with boxes
    and a table that lists the face appear."""
    with app.page() as (page, visit):
        page.locator("input[type=file]").first.set_input_files(str(public_data / "astronaut.png"))
        page.wait_for_timeout(2_000)
        _choose(page, "face")
        threshold = page.get_by_label(THRESHOLD)
        if threshold.count():
            threshold.first.fill("0.3")
        before = page.evaluate(PICTURES)
        page.get_by_role("button", name=BUTTON).first.click()
        try:
            page.wait_for_function(TABLE_WITH, arg="face", timeout=60_000)
            table = True
        except Exception:
            table = False
        page.wait_for_timeout(1_000)
        after = page.evaluate(PICTURES)
        page.screenshot(path=str(artifacts / "ui_result.png"), full_page=True)
    picture = bool(set(after) - set(before))
    credit((table + picture) / 2, f"table: {table}, picture with boxes: {picture}")
    assert table, "no table listing the face appeared after Detect"
    assert picture, "no new picture (the image with boxes) appeared after Detect"
    del visit


def _choose(page, name: str) -> None:
    """Tick the class ``name`` (a check box labelled with it, or an option of a list)."""
    box = page.get_by_label(name, exact=True)
    if box.count():
        box.first.check()
        return
    for select in page.locator("select").all():
        if select.locator(f"option:text-is('{name}')").count():
            select.select_option(label=name)
            return
