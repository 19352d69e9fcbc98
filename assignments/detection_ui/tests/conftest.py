"""Helpers shared by the public and hidden tests of detection_ui (host side).

The app's HTTP contract (README.md):

* ``GET /api/classes`` → ``{"classes": ["face", ...]}``
* ``POST /api/detect``, multipart: ``image`` (file), ``classes`` (repeated field),
  ``max_per_class`` (int), ``min_confidence`` (float in [0, 1]) →
  ``{"detections": [{"label": str, "confidence": float, "box": [x1, y1, x2, y2]}]}``,
  boxes in pixels of the uploaded image
* ``POST /api/classify``, multipart: ``image``, ``labels`` (repeated field) →
  ``{"probabilities": [{"label": str, "probability": float}, ...]}``
* bad input → HTTP 4xx with a JSON message (``{"error": ...}`` or FastAPI's ``{"detail": ...}``)

Everything here runs in the grader's process. Tests get the ``api`` fixture (an :class:`Api`:
the contract's calls, checked, and the geometry helpers) and the pictures as fixtures.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

Detection = dict[str, Any]
COURSE_CLASSES = ("face", "eye", "smile", "cat_face", "license_plate", "person")
"""The classes of the course's detector (template/detector.py)."""


# ---------------------------------------------------------------- pictures
def png(picture: np.ndarray | Image.Image) -> bytes:
    image = picture if isinstance(picture, Image.Image) else Image.fromarray(picture)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def load(folder: Path, name: str) -> np.ndarray:
    return np.asarray(Image.open(folder / name).convert("RGB"))


# ---------------------------------------------------------------- the contract
def _detect(
    app: Any,
    picture: np.ndarray,
    classes: Sequence[str],
    *,
    max_per_class: int = 10,
    min_confidence: float = 0.3,
) -> list[Detection]:
    """The app's detections; AssertionError saying how the answer breaks the contract."""
    response = app.post(
        "/api/detect",
        files={"image": ("picture.png", png(picture), "image/png")},
        data={
            "classes": list(classes),
            "max_per_class": str(max_per_class),
            "min_confidence": str(min_confidence),
        },
    )
    assert response.status_code == 200, (
        f"POST /api/detect answered {response.status_code}: {response.text[:300]}"
    )
    return detections_of(response.json())


def detections_of(body: Any) -> list[Detection]:
    assert isinstance(body, dict) and isinstance(body.get("detections"), list), (
        'the answer must be {"detections": [...]}, got ' + json.dumps(body)[:200]
    )
    found = []
    for item in body["detections"]:
        assert isinstance(item, dict), f"a detection must be an object, got {item!r:.100}"
        label, score, box = item.get("label"), item.get("confidence"), item.get("box")
        assert isinstance(label, str), f'a detection needs "label" (a string): {item!r:.200}'
        assert isinstance(score, int | float) and 0 <= score <= 1, (
            f'"confidence" must be a number in [0, 1]: {item!r:.200}'
        )
        assert isinstance(box, list) and len(box) == 4, f'"box" must be 4 numbers: {item!r:.200}'
        assert all(isinstance(v, int | float) for v in box), f'"box" must be numbers: {box!r:.100}'
        found.append({"label": label, "confidence": float(score), "box": [float(v) for v in box]})
    return found


def _classify(app: Any, picture: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
    """Probabilities by label; AssertionError saying how the answer breaks the contract."""
    response = app.post(
        "/api/classify",
        files={"image": ("picture.png", png(picture), "image/png")},
        data={"labels": list(labels)},
    )
    assert response.status_code == 200, (
        f"POST /api/classify answered {response.status_code}: {response.text[:300]}"
    )
    body = response.json()
    items = body.get("probabilities") if isinstance(body, dict) else None
    assert isinstance(items, list), (
        'the answer must be {"probabilities": [...]}, got ' + json.dumps(body)[:200]
    )
    out = {}
    for item in items:
        assert isinstance(item, dict) and isinstance(item.get("label"), str), (
            f'each entry needs "label" and "probability": {item!r:.200}'
        )
        assert isinstance(item.get("probability"), int | float), f"{item!r:.200}"
        out[item["label"]] = float(item["probability"])
    assert sorted(out) == sorted(labels), f"labels asked {sorted(labels)}, answered {sorted(out)}"
    return out


def error_message(response: Any) -> str:
    """The message of an error answer ("" when there is none)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("error") or body.get("detail") or body.get("message") or "")


# ---------------------------------------------------------------- geometry
def iou(a: Sequence[float], b: Sequence[float]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def best_iou(box: Sequence[float], found: list[Detection], label: str) -> float:
    return max((iou(box, d["box"]) for d in found if d["label"] == label), default=0.0)


def contained(inner: list[Detection], outer: list[Detection]) -> bool:
    """Every detection of ``inner`` is also in ``outer``: same label, the same box (or nearly:
    IoU > 0.9). Boxes are compared as given, so a wrong box format is judged elsewhere."""
    return all(any(_same(d, o) for o in outer) for d in inner)


def _same(a: Detection, b: Detection) -> bool:
    if a["label"] != b["label"]:
        return False
    close = all(abs(x - y) <= 1.0 for x, y in zip(a["box"], b["box"], strict=True))
    return close or iou(a["box"], b["box"]) > 0.9


# ---------------------------------------------------------------- fixtures
class Api:
    """The app through its contract (each call checks the answer's format)."""

    png = staticmethod(png)
    load = staticmethod(load)
    iou = staticmethod(iou)
    best_iou = staticmethod(best_iou)
    contained = staticmethod(contained)
    error_message = staticmethod(error_message)

    def __init__(self, app: Any) -> None:
        self.app = app

    def detect(self, picture: np.ndarray, classes: Sequence[str], **kw: Any) -> list[Detection]:
        return _detect(self.app, picture, classes, **kw)

    def classify(self, picture: np.ndarray, labels: Sequence[str]) -> dict[str, float]:
        return _classify(self.app, picture, labels)

    def shown_classes(self) -> list[str]:
        """The classes a person should see: the API's list, else the course detector's."""
        try:
            return self.classes()
        except AssertionError:
            return list(COURSE_CLASSES)

    def classes(self) -> list[str]:
        response = self.app.get("/api/classes")
        assert response.status_code == 200, f"GET /api/classes answered {response.status_code}"
        classes = response.json().get("classes") if isinstance(response.json(), dict) else None
        assert isinstance(classes, list) and all(isinstance(c, str) for c in classes), (
            'GET /api/classes must answer {"classes": ["face", ...]}'
        )
        return classes


@pytest.fixture(scope="session")
def api(app: Any) -> Api:
    return Api(app)


@pytest.fixture(scope="session")
def astronaut(public_data: Path) -> np.ndarray:
    return load(public_data, "astronaut.png")


@pytest.fixture(scope="session")
def red_circle(public_data: Path) -> np.ndarray:
    return load(public_data, "red_circle.png")
