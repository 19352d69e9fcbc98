"""Bad input is answered with an error message (HTTP 4xx), and the app keeps working."""

from __future__ import annotations

import io

import pytest
from PIL import Image

HUGE_SIDE = 7072
"""A 50-megapixel picture (7072 x 7072): small as a PNG, 150 MB decoded."""


@pytest.fixture(scope="session")
def huge_png():
    image = Image.new("RGB", (HUGE_SIDE, HUGE_SIDE), (90, 120, 150))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def still_works(api, astronaut):
    """The app is alive and finds the astronaut's face (in a crop: quick)."""
    assert api.app.alive(), "the app died"
    face = astronaut[20:230, 120:330]
    assert api.detect(face, ["face"]), "the app does not detect the astronaut's face"


def answered_with_error(api, response) -> None:
    assert 400 <= response.status_code < 500, (
        f"expected an error answer (HTTP 4xx), got {response.status_code}: {response.text[:200]}"
    )
    assert api.error_message(response), 'the error answer needs a message ({"error": "..."})'


@pytest.mark.points(3, component="robustness")
def test_a_file_that_is_not_an_image(api, astronaut):
    """Uploading a text file is refused with a message."""
    still_works(api, astronaut)
    response = api.app.post(
        "/api/detect",
        files={"image": ("notes.txt", b"this is not a picture\n" * 50, "text/plain")},
        data={"classes": ["face"], "max_per_class": "5", "min_confidence": "0.5"},
    )
    answered_with_error(api, response)
    still_works(api, astronaut)


@pytest.mark.points(4, component="robustness")
def test_a_50_megapixel_image(api, astronaut, huge_png):
    """A 50-megapixel upload is refused with a message, or answered; never a crash."""
    still_works(api, astronaut)
    response = api.app.post(
        "/api/detect",
        files={"image": ("huge.png", huge_png, "image/png")},
        data={"classes": ["face"], "max_per_class": "5", "min_confidence": "0.5"},
    )
    if response.status_code != 200:
        answered_with_error(api, response)
    still_works(api, astronaut)


@pytest.mark.points(3, component="robustness")
def test_no_class_chosen(api, astronaut):
    """A detection request without any class is refused with a message."""
    still_works(api, astronaut)
    response = api.app.post(
        "/api/detect",
        files={"image": ("a.png", api.png(astronaut), "image/png")},
        data={"max_per_class": "5", "min_confidence": "0.5"},
    )
    answered_with_error(api, response)
    still_works(api, astronaut)
