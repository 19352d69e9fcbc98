"""CLIP zero-shot classification: a distribution over the labels given, by label, right."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

TOP1_NEEDED = 0.85
"""Share of the hidden pictures whose right caption must come first for full points."""


@pytest.fixture(scope="session")
def pictures(hidden_data):
    items = json.loads((hidden_data / "zero_shot.json").read_text())
    return [
        (
            np.asarray(Image.open(hidden_data / item["file"]).convert("RGB")),
            item["labels"],
            item["answer"],
        )
        for item in items
    ]


@pytest.mark.points(4, component="zero_shot")
def test_probabilities_sum_to_one(api, pictures):
    """For any labels the probabilities lie in [0, 1] and sum to 1."""
    for picture, labels, _ in pictures[:4]:
        probabilities = api.classify(picture, labels)
        assert all(0 <= p <= 1 for p in probabilities.values()), probabilities
        assert np.isclose(sum(probabilities.values()), 1, atol=1e-3), probabilities


@pytest.mark.points(6, component="zero_shot")
def test_permuting_the_labels_permutes_the_probabilities(api, pictures):
    """A label's probability does not depend on where it stands in the list."""
    for picture, labels, _ in pictures[:4]:
        forward = api.classify(picture, labels)
        backward = api.classify(picture, labels[::-1])
        for label in labels:
            assert abs(forward[label] - backward[label]) < 1e-3, (
                f"{label!r}: {forward[label]:.3f} in one order, {backward[label]:.3f} in another"
            )


@pytest.mark.points(10, component="zero_shot")
def test_right_caption_comes_first(api, pictures, credit):
    """The right caption has the highest probability on most hidden pictures."""
    right = 0
    for picture, labels, answer in pictures:
        probabilities = api.classify(picture, labels)
        right += max(probabilities, key=probabilities.__getitem__) == answer
    share = right / len(pictures)
    credit(min(1.0, share / TOP1_NEEDED), f"{right} of {len(pictures)} right")
    assert share >= TOP1_NEEDED, f"the right caption came first on {right} of {len(pictures)}"
