"""Drawn pictures with captions: coloured shapes and digits (the tiny CLIP's world).

Deterministic for a given seed; used to train the tiny CLIP and to make the hidden images of
the zero-shot checks (other seeds, other sizes).
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 180, 60),
    "blue": (40, 80, 220),
    "yellow": (235, 215, 40),
}
SHAPES = ["circle", "square", "triangle"]
DIGITS = [str(d) for d in range(10)]
SHAPE_TEMPLATES = ["a photo of a {c} {s}", "a {c} {s}", "a drawing of a {c} {s}", "{c} {s}"]
DIGIT_TEMPLATES = ["the digit {d}", "a photo of the digit {d}", "the number {d}", "digit {d}"]


def concepts() -> list[tuple[str, str]]:
    """Every (kind, value): ("shape", "red circle") ... ("digit", "7")."""
    shapes = [("shape", f"{c} {s}") for c in COLOURS for s in SHAPES]
    return [*shapes, *(("digit", d) for d in DIGITS)]


def caption(kind: str, value: str, template: int = 0) -> str:
    if kind == "digit":
        return DIGIT_TEMPLATES[template % len(DIGIT_TEMPLATES)].format(d=value)
    colour, shape = value.split()
    return SHAPE_TEMPLATES[template % len(SHAPE_TEMPLATES)].format(c=colour, s=shape)


def draw(kind: str, value: str, rng: np.random.Generator, size: int = 96) -> Image.Image:
    """One picture of the concept on a random muted background."""
    bg = tuple(int(v) for v in rng.integers(0, 90, 3))
    image = Image.new("RGB", (size, size), bg)
    pen = ImageDraw.Draw(image)
    extent = rng.uniform(0.45, 0.8) * size
    cx, cy = rng.uniform(extent / 2, size - extent / 2, 2)
    box = [cx - extent / 2, cy - extent / 2, cx + extent / 2, cy + extent / 2]
    if kind == "digit":
        ink = tuple(int(v) for v in rng.integers(170, 256, 3))
        font = ImageFont.load_default(size=int(extent))
        pen.text((cx, cy), value, fill=ink, font=font, anchor="mm")
        return image
    colour, shape = value.split()
    fill = tuple(int(np.clip(v + rng.integers(-25, 26), 0, 255)) for v in COLOURS[colour])
    if shape == "circle":
        pen.ellipse(box, fill=fill)
    elif shape == "square":
        pen.rectangle(box, fill=fill)
    else:
        pen.polygon([(cx, box[1]), (box[0], box[3]), (box[2], box[3])], fill=fill)
    return image
