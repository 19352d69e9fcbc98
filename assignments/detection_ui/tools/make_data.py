"""Make the assignment's images and their annotations; deterministic.

    python assignments/detection_ui/tools/make_data.py

Sources, all offline: scikit-image's bundled pictures (the astronaut, Eileen Collins, NASA,
public domain) and its bundled LFW subset (25x25 faces of Labeled Faces in the Wild), pasted
at known places onto generated backgrounds; licence plates drawn here; the tiny CLIP's drawn
shapes and digits (tools/shapes.py) with other seeds than its training. Annotations are
where things were pasted (faces, plates), or boxes checked by eye (the astronaut's face; its
picture is the public one, data/public/astronaut.png).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import shapes
from PIL import Image, ImageDraw, ImageFont

DATA = Path(__file__).resolve().parents[1] / "data"
SEED = 2026
ASTRONAUT_FACE = [172, 60, 276, 184]
"""The astronaut's face (x1, y1, x2, y2), read off the picture."""


def _lfw() -> np.ndarray:
    import skimage

    return np.load(Path(skimage.__file__).parent / "data" / "lfw_subset.npy")


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A smooth colour gradient: nothing a detector should find (and small as a PNG)."""
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    a, b = rng.uniform(60, 190, 3), rng.uniform(-60, 60, 3)
    picture = a + b * (x[..., None] + y[..., None]) / 2
    return np.clip(picture, 0, 255).astype(np.uint8)


def faces_picture(rng: np.random.Generator, count: int) -> tuple[np.ndarray, list[dict]]:
    """``count`` LFW faces (upscaled, grey) pasted without overlap; their boxes."""
    width, height = 720, 480
    picture = background(rng, width, height)
    faces = _lfw()[:100]
    boxes: list[list[int]] = []
    while len(boxes) < count:
        size = int(rng.integers(90, 150))
        x, y = int(rng.integers(10, width - size - 10)), int(rng.integers(10, height - size - 10))
        box = [x, y, x + size, y + size]
        if any(_overlap(box, other) for other in boxes):
            continue
        face = faces[int(rng.integers(len(faces)))]
        grey = Image.fromarray((face * 255).astype(np.uint8)).resize((size, size), Image.BICUBIC)
        picture[y : y + size, x : x + size] = np.asarray(grey)[..., None]
        boxes.append(box)
    return picture, [{"label": "face", "box": b} for b in boxes]


def _overlap(a: list[int], b: list[int], margin: int = 20) -> bool:
    return not (
        a[2] + margin < b[0] or b[2] + margin < a[0] or a[3] + margin < b[1] or b[3] + margin < a[1]
    )


def plate_picture(rng: np.random.Generator, text: str, region: str) -> tuple[np.ndarray, list]:
    """A Russian-style plate (black frame included in its box) on a car-grey background."""
    width = int(rng.integers(200, 280))
    height = int(width * 112 / 520)
    plate = Image.new("L", (width, height), 235)
    pen = ImageDraw.Draw(plate)
    pen.rectangle([1, 1, width - 2, height - 2], outline=20, width=max(2, width // 100))
    pen.text(
        (int(width * 0.38), height // 2),
        text,
        fill=15,
        font=ImageFont.load_default(size=int(height * 0.75)),
        anchor="mm",
    )
    pen.line([(int(width * 0.76), 2), (int(width * 0.76), height - 2)], fill=20, width=2)
    pen.text(
        (int(width * 0.88), int(height * 0.4)),
        region,
        fill=15,
        font=ImageFont.load_default(size=int(height * 0.5)),
        anchor="mm",
    )
    frame = 8
    picture = background(rng, 640, 420)
    x, y = int(rng.integers(60, 640 - width - 60)), int(rng.integers(120, 420 - height - 60))
    picture[y - frame : y + height + frame, x - frame : x + width + frame] = 40
    picture[y : y + height, x : x + width] = np.asarray(plate)[..., None]
    box = [x - frame, y - frame, x + width + frame, y + height + frame]
    return picture, [{"label": "license_plate", "box": box}]


def clip_pictures(folder: Path, rng: np.random.Generator) -> list[dict]:
    """Drawn shapes and digits with the caption that is right and those to choose from."""
    items = []
    shape_concepts = [c for c in shapes.concepts() if c[0] == "shape"]
    digit_concepts = [c for c in shapes.concepts() if c[0] == "digit"]
    for index in range(16):
        pool = shape_concepts if index % 2 == 0 else digit_concepts
        choices = [pool[int(i)] for i in rng.choice(len(pool), 4, replace=False)]
        truth = choices[0]
        picture = shapes.draw(*truth, rng, size=int(rng.integers(96, 200)))
        name = f"clip_{index:02d}.png"
        picture.save(folder / name)
        labels = [shapes.caption(*c, template=index % 4) for c in choices]
        items.append({"file": name, "labels": sorted(labels), "answer": labels[0]})
    return items


def main() -> None:
    from skimage import data

    rng = np.random.default_rng(SEED)
    public, hidden = DATA / "public", DATA / "hidden"
    public.mkdir(parents=True, exist_ok=True)
    hidden.mkdir(parents=True, exist_ok=True)
    Image.fromarray(data.astronaut()).save(public / "astronaut.png")
    shapes.draw("shape", "red circle", rng, size=128).save(public / "red_circle.png")
    annotations: dict[str, list] = {"astronaut.png": [{"label": "face", "box": ASTRONAUT_FACE}]}
    for index, count in enumerate((1, 2, 3, 4)):
        picture, objects = faces_picture(rng, count)
        Image.fromarray(picture).save(hidden / f"faces_{index}.png")
        annotations[f"faces_{index}.png"] = objects
    for index, (text, region) in enumerate((("A123BC", "77"), ("K456MP", "199"))):
        picture, objects = plate_picture(rng, text, region)
        Image.fromarray(picture).save(hidden / f"plate_{index}.png")
        annotations[f"plate_{index}.png"] = objects
    (hidden / "annotations.json").write_text(json.dumps(annotations, indent=1) + "\n")
    clip = clip_pictures(hidden, rng)
    (hidden / "zero_shot.json").write_text(json.dumps(clip, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {len(annotations)} annotated pictures and {len(clip)} zero-shot pictures")


if __name__ == "__main__":
    main()
