"""Split the MNIST test set into the public and hidden data of cnn_tuning (deterministic).

    python assignments/cnn_tuning/data/make_data.py [--source /work/shared/datasets/mnist-test]

Reads the original IDX files ``t10k-images-idx3-ubyte.gz`` / ``t10k-labels-idx1-ubyte.gz``
(10,000 handwritten digits, 28x28, uint8) and writes, class by class with a fixed seed:

* ``public/mnist_public.npz`` (compressed): ``train_images`` / ``train_labels`` (7,000) and
  ``val_images`` / ``val_labels`` (1,000) for the students;
* ``hidden/test_images.npy`` (2,000 x 28 x 28 uint8): sent into the sandbox at grading,
  each digit slightly distorted by :func:`distort` (below) so that no hidden image equals a
  public MNIST image: a table of the public MNIST test set cannot answer them;
* ``hidden/test_labels.npy`` (2,000 int64): read on the host only, never sent anywhere;
* ``hidden/transform.json``: the seed of the distortion (host only). It is drawn at random
  the first time and kept, so the files can be rebuilt; delete it (or pass
  ``--new-transform-seed``) to draw new distortions for a new course year.

Needs numpy only. Running it again rewrites identical arrays (checked by tests). See DATA.md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import secrets
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = Path("/work/shared/datasets/mnist-test")
SPLIT_SEED = 20261001
SHARES = {"hidden": 0.2, "val": 0.1}
"""Per class: 20 % hidden test, 10 % public validation, the rest public train."""
DISTORTION = {"degrees": 3.0, "scale": 0.03, "shift": 0.5, "elastic": 0.5, "smooth": 3.0}
"""Ranges of the hidden digits' distortion (README.md states them): rotation ±3°, scale ±3 %,
shift ±0.5 px, plus a smooth elastic displacement of at most 0.5 px (noise blurred over 3 px).
Mild on purpose: enough that no hidden image equals a public one, little enough that models
trained without augmentation lose about one point of accuracy (measured, see DATA.md)."""


def read_idx(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 from the IDX gzip files."""
    with gzip.open(folder / "t10k-images-idx3-ubyte.gz", "rb") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(folder / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    return images, labels


def split(labels: np.ndarray, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Index arrays for train / val / hidden, stratified by class, each sorted by a shuffle."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "hidden": []}
    for digit in range(10):
        idx = rng.permutation(np.flatnonzero(labels == digit))
        n_hidden = round(SHARES["hidden"] * len(idx))
        n_val = round(SHARES["val"] * len(idx))
        parts["hidden"].append(idx[:n_hidden])
        parts["val"].append(idx[n_hidden : n_hidden + n_val])
        parts["train"].append(idx[n_hidden + n_val :])
    return {name: rng.permutation(np.concatenate(chunks)) for name, chunks in parts.items()}


def distort(images: np.ndarray, seed: int) -> np.ndarray:
    """Each digit rotated, scaled and shifted a little around the centre, then warped by a
    smooth elastic field, resampled bilinearly (uint8 in, uint8 out). Label-preserving: the
    ranges in :data:`DISTORTION` are within what a digit's own writer varies by. Uses only
    exactly rounded arithmetic (no BLAS) so that every machine writes the same bytes."""
    rng = np.random.default_rng(seed)
    n = len(images)
    ys, xs = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    out = np.empty_like(images)
    d = DISTORTION
    for i in range(n):
        angle = math.radians(rng.uniform(-d["degrees"], d["degrees"]))
        zoom = 1 + rng.uniform(-d["scale"], d["scale"])
        dy, dx = rng.uniform(-d["shift"], d["shift"], size=2)
        cos, sin = math.cos(angle) / zoom, math.sin(angle) / zoom
        # the output pixel (y, x) takes its value from the source point (sy, sx)
        cy, cx = ys - 13.5 - dy, xs - 13.5 - dx
        sy = cos * cy - sin * cx + 13.5
        sx = sin * cy + cos * cx + 13.5
        ey, ex = (_smooth_field(rng) for _ in range(2))
        out[i] = _bilinear(images[i].astype(np.float64), sy + ey, sx + ex)
    return out


def _smooth_field(rng: np.random.Generator) -> np.ndarray:
    """A 28x28 displacement field: Gaussian noise blurred (separably, in a fixed order) and
    scaled to a largest displacement of DISTORTION["elastic"] pixels."""
    sigma, radius = DISTORTION["smooth"], int(3 * DISTORTION["smooth"])
    weights = [math.exp(-(k * k) / (2 * sigma * sigma)) for k in range(-radius, radius + 1)]
    field = rng.standard_normal((28 + 2 * radius, 28 + 2 * radius))
    rows = sum(w * field[k : k + 28, :] for k, w in enumerate(weights))
    both = sum(w * rows[:, k : k + 28] for k, w in enumerate(weights))
    peak = float(np.abs(both).max())
    return both * (DISTORTION["elastic"] / peak) if peak > 0 else both


def _bilinear(image: np.ndarray, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    """``image`` sampled at (sy, sx) with bilinear weights; outside the image is 0."""
    padded = np.zeros((30, 30))
    padded[1:29, 1:29] = image
    sy, sx = np.clip(sy + 1, 0, 29), np.clip(sx + 1, 0, 29)
    y0, x0 = np.minimum(np.floor(sy).astype(int), 28), np.minimum(np.floor(sx).astype(int), 28)
    fy, fx = sy - y0, sx - x0
    value = (
        padded[y0, x0] * (1 - fy) * (1 - fx)
        + padded[y0, x0 + 1] * (1 - fy) * fx
        + padded[y0 + 1, x0] * fy * (1 - fx)
        + padded[y0 + 1, x0 + 1] * fy * fx
    )
    return np.rint(np.clip(value, 0, 255)).astype(np.uint8)


def transform_seed(hidden: Path, new: bool = False) -> int:
    """The distortion's seed kept in ``hidden/transform.json``, drawn at random when there is
    none (or when ``new``)."""
    path = hidden / "transform.json"
    if path.exists() and not new:
        return int(json.loads(path.read_text("utf-8"))["seed"])
    seed = secrets.randbits(63)
    hidden.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"seed": seed}) + "\n", "utf-8")
    return seed


def main(
    source: Path = SOURCE, out: Path = HERE, seed_from: Path | None = None, new: bool = False
) -> None:
    """Write ``out/public/mnist_public.npz`` and ``out/hidden/test_{images,labels}.npy``, the
    hidden images distorted with the seed kept in ``seed_from`` (default ``out/hidden``)."""
    images, labels = read_idx(source)
    parts = split(labels)
    (out / "public").mkdir(parents=True, exist_ok=True)
    (out / "hidden").mkdir(parents=True, exist_ok=True)
    train, val, hidden = parts["train"], parts["val"], parts["hidden"]
    np.savez_compressed(
        out / "public" / "mnist_public.npz",
        train_images=images[train],
        train_labels=labels[train],
        val_images=images[val],
        val_labels=labels[val],
    )
    seed = transform_seed(seed_from or out / "hidden", new)
    hidden_images = distort(images[hidden], seed)
    np.save(out / "hidden" / "test_images.npy", hidden_images, allow_pickle=False)
    np.save(out / "hidden" / "test_labels.npy", labels[hidden], allow_pickle=False)
    print(f"train {len(train)}, val {len(val)}, hidden {len(hidden)} (distorted)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument(
        "--new-transform-seed", action="store_true", help="draw new hidden distortions"
    )
    args = parser.parse_args()
    main(args.source, args.out, new=args.new_transform_seed)
