"""The course's pretrained detector, offline: OpenCV's bundled models, one interface.

``detect_all(image)`` runs the detectors of the classes asked for and returns every candidate
with a confidence in [0, 1] and a box (x1, y1, x2, y2) in the image's pixels; choosing classes,
the number per class and the minimum confidence is the app's job (the assignment).

Models (all inside the ``opencv-python-headless`` wheel, nothing is downloaded): Haar cascades
for faces, eyes, smiles, cat faces and Russian licence plates; the HOG + linear SVM people
detector. A cascade's confidence comes from the weight of its last stage
(``detectMultiScale3(..., outputRejectLevels=True)``), the people detector's from the SVM's
margin, each through a logistic curve.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

CASCADES = {
    "face": "haarcascade_frontalface_default.xml",
    "eye": "haarcascade_eye.xml",
    "smile": "haarcascade_smile.xml",
    "cat_face": "haarcascade_frontalcatface.xml",
    "license_plate": "haarcascade_russian_plate_number.xml",
}
CLASSES = [*CASCADES, "person"]
MAX_SIDE = 800
"""Images are searched at most this large (longest side); boxes are given in the original."""

_models: dict[str, object] = {}

Detection = tuple[str, float, tuple[int, int, int, int]]


def detect_all(image: np.ndarray, classes: list[str] | None = None) -> list[Detection]:
    """Candidates of ``classes`` (default: all) in an RGB uint8 image, best first per class."""
    scale = min(1.0, MAX_SIDE / max(image.shape[:2]))
    small = cv2.resize(image, None, fx=scale, fy=scale) if scale < 1 else image
    gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    found: list[Detection] = []
    for name in classes or CLASSES:
        raw = _people(gray) if name == "person" else _cascade(name, gray)
        for score, (x, y, w, h) in sorted(raw, key=lambda item: -item[0]):
            box = (
                round(x / scale),
                round(y / scale),
                round((x + w) / scale),
                round((y + h) / scale),
            )
            found.append((name, score, box))
    return found


def _cascade(name: str, gray: np.ndarray) -> list[tuple[float, tuple[int, ...]]]:
    model = _models.get(name)
    if model is None:
        model = _models[name] = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADES[name])
    boxes, _, weights = model.detectMultiScale3(
        gray, scaleFactor=1.1, minNeighbors=3, minSize=(20, 20), outputRejectLevels=True
    )
    return [
        (_logistic(float(w) - 2.0), tuple(int(v) for v in b))
        for b, w in zip(boxes, np.ravel(weights), strict=False)
    ]


def _people(gray: np.ndarray) -> list[tuple[float, tuple[int, ...]]]:
    hog = _models.get("person")
    if hog is None:
        hog = _models["person"] = cv2.HOGDescriptor()
        hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
    boxes, weights = hog.detectMultiScale(gray, winStride=(8, 8), padding=(8, 8), scale=1.05)
    return [
        (_logistic(2.0 * (float(w) - 1.0)), tuple(int(v) for v in b))
        for b, w in zip(boxes, np.ravel(weights), strict=False)
    ]


def _logistic(x: float) -> float:
    return round(1.0 / (1.0 + math.exp(-x)), 4)
