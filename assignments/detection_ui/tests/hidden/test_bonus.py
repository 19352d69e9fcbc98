"""Bonus points: licence plates, and the app in a Docker image of one's own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image


@pytest.mark.points(5, component="bonus_plates")
def test_finds_licence_plates(api, hidden_data, credit):
    """The class 'license_plate' is offered and finds the plates (IoU >= 0.5)."""
    assert "license_plate" in api.classes(), "the app does not offer the class 'license_plate'"
    annotations = json.loads((hidden_data / "annotations.json").read_text())
    plates = {n: o for n, o in annotations.items() if o and o[0]["label"] == "license_plate"}
    hits = 0
    for name, objects in plates.items():
        picture = np.asarray(Image.open(hidden_data / name).convert("RGB"))
        found = api.detect(picture, ["license_plate"], min_confidence=0.3)
        hits += api.best_iou(objects[0]["box"], found, "license_plate") >= 0.5
    credit(hits / len(plates), f"{hits} of {len(plates)} plates found")
    assert hits == len(plates), f"{len(plates) - hits} of {len(plates)} plates not found"


@pytest.mark.points(5, component="bonus_docker")
def test_own_docker_image_serves_the_same_api(app, api, astronaut):
    """The submission's Dockerfile builds FROM the course image without network, and the
    container serves the same API."""
    with app.own_image() as other:
        from_image = type(api)(other)
        assert "face" in from_image.classes()
        assert from_image.detect(astronaut, ["face"]), "the image's app finds no face"
