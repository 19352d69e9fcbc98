"""Properties every honest detector app has, and ground truth on pictures with known faces."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def annotations(hidden_data):
    return json.loads((hidden_data / "annotations.json").read_text())


@pytest.fixture(scope="session")
def crowd(hidden_data):
    """Four faces (and whatever else the detector sees there)."""
    return np.asarray(Image.open(hidden_data / "faces_3.png").convert("RGB"))


@pytest.mark.points(5, component="detection")
def test_only_the_chosen_classes(api, astronaut):
    """Only detections of the classes that were asked for."""
    for chosen in (["eye"], ["face"], ["face", "eye"]):
        found = api.detect(astronaut, chosen, min_confidence=0.3)
        labels = {d["label"] for d in found}
        assert labels <= set(chosen), f"asked for {chosen}, got {sorted(labels)}"
        assert found, f"nothing found on the astronaut for {chosen}"


@pytest.mark.points(6, component="detection")
def test_at_most_k_per_class_and_more_as_k_grows(api, crowd):
    """max_per_class=k gives at most k per class; k+1 keeps what k found."""
    runs = {k: api.detect(crowd, ["face"], max_per_class=k) for k in (1, 2, 3)}
    for k, found in runs.items():
        assert len(found) <= k, f"max_per_class={k} gave {len(found)} faces"
    assert len(runs[1]) == 1, "max_per_class=1 on a picture with four faces must give one"
    assert api.contained(runs[1], runs[2]) and api.contained(runs[2], runs[3]), (
        "the faces found with max_per_class=k must also be found with k+1 (the best ones)"
    )


@pytest.mark.points(6, component="detection")
def test_every_score_above_the_threshold_and_fewer_as_it_rises(api, crowd, astronaut):
    """min_confidence=t gives only scores >= t; a higher t keeps a subset."""
    for picture in (crowd, astronaut):
        runs = {t: api.detect(picture, ["face", "eye"], min_confidence=t) for t in (0.1, 0.6, 0.9)}
        for t, found in runs.items():
            low = [d["confidence"] for d in found if d["confidence"] < t]
            assert not low, f"min_confidence={t} returned scores {low}"
        assert api.contained(runs[0.9], runs[0.6]) and api.contained(runs[0.6], runs[0.1]), (
            "what passes a higher threshold must also pass a lower one"
        )


@pytest.mark.points(3, component="detection")
def test_boxes_are_x1_y1_x2_y2_inside_the_image(api, crowd, astronaut):
    """Boxes are [x1, y1, x2, y2] in pixels, with x1 < x2, y1 < y2, inside the picture."""
    for picture in (crowd, astronaut):
        height, width = picture.shape[:2]
        for d in api.detect(picture, ["face", "eye"]):
            x1, y1, x2, y2 = d["box"]
            assert x1 < x2 and y1 < y2, f"box {d['box']} is not [x1, y1, x2, y2]"
            assert x1 >= 0 and y1 >= 0 and x2 <= width and y2 <= height, (
                f"box {d['box']} leaves the {width}x{height} picture"
            )


@pytest.mark.points(3, component="detection")
def test_same_picture_same_answer(api, astronaut):
    """The same request twice gives the same detections."""
    first = api.detect(astronaut, ["face", "eye"])
    again = api.detect(astronaut, ["face", "eye"])
    assert api.contained(first, again) and api.contained(again, first) and len(first) == len(again)


@pytest.mark.points(4, component="detection")
def test_mirrored_picture_gives_mirrored_boxes(api, astronaut, hidden_data):
    """The best detection of a picture, mirrored, is found in the mirrored picture."""
    for picture in (astronaut, api.load(hidden_data, "faces_2.png")):
        found = api.detect(picture, ["face"])
        assert found, "no face found"
        best = max(found, key=lambda d: d["confidence"])
        width = picture.shape[1]
        x1, y1, x2, y2 = best["box"]
        mirrored = api.detect(np.ascontiguousarray(picture[:, ::-1]), ["face"])
        overlap = api.best_iou([width - x2, y1, width - x1, y2], mirrored, "face")
        assert overlap >= 0.5, f"the mirrored face is not where it should be (IoU {overlap:.2f})"


@pytest.mark.points(3, component="detection")
def test_blank_picture_gives_nothing(api):
    """Plain and gradient pictures give no detection at min_confidence=0.5."""
    flat = np.full((480, 640, 3), 128, np.uint8)
    ramp = np.broadcast_to(np.linspace(0, 255, 640, dtype=np.uint8)[None, :, None], (480, 640, 3))
    classes = api.classes()
    for picture in (flat, np.ascontiguousarray(ramp)):
        found = api.detect(picture, classes, min_confidence=0.5)
        assert not found, f"a blank picture gave {found[:3]}"


@pytest.mark.points(5, component="detection")
def test_finds_the_faces_that_are_there(api, annotations, hidden_data, public_data, credit):
    """Every annotated face is found (IoU >= 0.5) at min_confidence=0.3."""
    total, hits, missed = 0, 0, []
    for name, objects in annotations.items():
        faces = [o for o in objects if o["label"] == "face"]
        if not faces:
            continue
        folder = hidden_data if (hidden_data / name).exists() else public_data
        found = api.detect(api.load(folder, name), ["face"], max_per_class=20, min_confidence=0.3)
        for face in faces:
            total += 1
            if api.best_iou(face["box"], found, "face") >= 0.5:
                hits += 1
            else:
                missed.append(name)
    credit(hits / total, f"{hits} of {total} faces found")
    assert hits == total, f"{total - hits} of {total} faces not found (in {sorted(set(missed))})"
