"""Split the MNIST test set into the public and hidden data of cnn_tuning (deterministic).

    python assignments/cnn_tuning/data/make_data.py [--source /work/shared/datasets/mnist-test]

Reads the original IDX files ``t10k-images-idx3-ubyte.gz`` / ``t10k-labels-idx1-ubyte.gz``
(10,000 handwritten digits, 28x28, uint8) and writes, class by class with a fixed seed:

* ``public/mnist_public.npz`` (compressed): ``train_images`` / ``train_labels`` (7,000) and
  ``val_images`` / ``val_labels`` (1,000) for the students;
* ``hidden/test_images.npy`` (2,000 x 28 x 28 uint8): sent into the sandbox at grading;
* ``hidden/test_labels.npy`` (2,000 int64): read on the host only, never sent anywhere.

Needs numpy only. Running it again rewrites identical arrays (checked by tests). See DATA.md.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SOURCE = Path("/work/shared/datasets/mnist-test")
SPLIT_SEED = 20261001
SHARES = {"hidden": 0.2, "val": 0.1}
"""Per class: 20 % hidden test, 10 % public validation, the rest public train."""


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


def main(source: Path = SOURCE, out: Path = HERE) -> None:
    """Write ``out/public/mnist_public.npz`` and ``out/hidden/test_{images,labels}.npy``."""
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
    np.save(out / "hidden" / "test_images.npy", images[hidden], allow_pickle=False)
    np.save(out / "hidden" / "test_labels.npy", labels[hidden], allow_pickle=False)
    print(f"train {len(train)}, val {len(val)}, hidden {len(hidden)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    main(args.source, args.out)
