"""The HTTP contract (README.md): what `grade check` runs on your app."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.points(2, component="contract")
def test_lists_its_classes(api):
    """GET /api/classes answers {"classes": [...]} with at least "face"."""
    classes = api.classes()
    assert "face" in classes, f"the detector must offer the class 'face' (it offers {classes})"


@pytest.mark.points(4, component="contract")
def test_detect_answers_with_boxes(api, astronaut):
    """POST /api/detect finds the astronaut's face and answers in the contract's format."""
    found = api.detect(astronaut, ["face"], max_per_class=5, min_confidence=0.3)
    assert found, "no face found on data/public/astronaut.png (classes=face, min_confidence=0.3)"
    assert {d["label"] for d in found} == {"face"}


@pytest.mark.points(4, component="contract")
def test_classify_answers_with_probabilities(api, red_circle):
    """POST /api/classify gives one probability per label, in [0, 1]."""
    labels = ["a red circle", "a blue square", "the digit 7"]
    probabilities = api.classify(red_circle, labels)
    assert all(0 <= p <= 1 for p in probabilities.values()), probabilities
    assert max(probabilities, key=probabilities.__getitem__) == "a red circle", (
        f"data/public/red_circle.png should be 'a red circle': {probabilities}"
    )
    assert np.isclose(sum(probabilities.values()), 1, atol=1e-3), "probabilities must sum to 1"
