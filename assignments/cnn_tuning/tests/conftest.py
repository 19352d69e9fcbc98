"""Fixtures and helpers shared by the public and hidden tests of cnn_tuning (host side).

The notebook's contract (README.md): ``model`` (a torch.nn.Module), ``predict(images)``
(uint8 array (N, 28, 28) → labels (N,)), ``history`` (per-epoch curves) and ``config``
(hyperparameters). Everything here runs in the grader's process: weights arrive as a
safetensors state dict, predictions as a ``.npy`` array; pictures are drawn with matplotlib's
Agg canvas (no pyplot state) and skipped when matplotlib is not installed.

What is measured is what ``predict`` uses, not only what ``model`` declares:

* ``outside_model``: predict() runs twice on different validation images under the bridge's
  tracer, which lists every torch tensor a call reads without making it. Reads with the same
  content in both calls are weights and constants (the tensors built from the images differ);
  those that are not ``model``'s counted parameters, and not only read as batch-norm running
  statistics, count towards the budget too: a second network, weights in non-persistent
  buffers, arrays turned into tensors inside predict.
* ``model_dependence``: the share of labels that change when ``model``'s parameters and
  buffers are shuffled (the kernel puts them back): a ``model`` that predict() does not use
  cannot earn size points.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.testing import BUFFER_SUFFIXES, parameters_by_layer

CHUNK = 500
"""Images per predict() call through the bridge (500 x 784 bytes, well under its limits)."""
TRACE_SIZES = (48, 64)
"""Validation images in the two traced calls of predict() that find the tensors it reads."""
MIN_TRACE_AGREEMENT = 0.5
"""A traced call must give mostly the same labels (dropout left on changes a few)."""


# ---------------------------------------------------------------- predictions
def as_labels(value: Any, n: int) -> np.ndarray:
    """What predict() returned → int64 labels (n,); AssertionError naming what is wrong."""
    pred = np.asarray(value)
    assert pred.dtype.kind in "iuf" and pred.size == n, (
        f"predict must return {n} class labels (shape ({n},)), got dtype {pred.dtype} "
        f"and shape {pred.shape}; logits need .argmax(1)"
    )
    pred = pred.reshape(-1)
    assert np.all(np.isfinite(pred)) and np.all(pred == np.round(pred)), (
        "predict must return whole numbers 0..9 (labels), not probabilities"
    )
    labels = pred.astype(np.int64)
    assert labels.min() >= 0 and labels.max() <= 9, "labels must lie in 0..9"
    return labels


def predict_all(nb: Any, images: np.ndarray) -> np.ndarray:
    """predict() over ``images`` in chunks; labels as int64 (N,)."""
    parts = [
        as_labels(nb.call("predict", images[i : i + CHUNK]), len(images[i : i + CHUNK]))
        for i in range(0, len(images), CHUNK)
    ]
    return np.concatenate(parts)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def val_split(public_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The public validation images (uint8 (1000, 28, 28)) and labels."""
    with np.load(public_data / "mnist_public.npz", allow_pickle=False) as f:
        return f["val_images"], f["val_labels"]


@pytest.fixture(scope="session")
def predict_labels(nb: Any) -> Callable[[np.ndarray], np.ndarray]:
    """``predict_labels(images)``: the notebook's predict() in chunks, checked, as int64 (N,)."""
    return lambda images: predict_all(nb, images)


@pytest.fixture(scope="session")
def val_accuracy(
    predict_labels: Callable[[np.ndarray], np.ndarray], val_split: tuple[np.ndarray, np.ndarray]
) -> float:
    images, labels = val_split
    return float(np.mean(predict_labels(images) == labels))


@pytest.fixture(scope="session")
def state(nb: Any) -> dict[str, np.ndarray]:
    """``model.state_dict()`` as arrays (safetensors across the bridge)."""
    return dict(nb.state_dict("model"))


@pytest.fixture(scope="session")
def layers(state: dict[str, np.ndarray]) -> dict[str, int]:
    """Parameters per layer of ``model``, counted on the host from its state dict."""
    counts = parameters_by_layer(state)
    assert counts, "model.state_dict() holds no parameters"
    return counts


@dataclass(frozen=True)
class Reads:
    """Tensors predict() reads as weights or constants (``TensorRead`` of the bridge)."""

    reads: list[Any]

    @property
    def numel(self) -> int:
        return sum(r.numel for r in self.reads)

    def describe(self, limit: int = 5) -> str:
        """``net.fc.weight (200,704), a float32 tensor (10, 10) (100)``, largest first."""
        reads = sorted(self.reads, key=lambda r: -r.numel)
        parts = [f"{r.name or f'a {r.dtype} tensor {r.shape}'} ({r.numel:,})" for r in reads]
        more = f" and {len(reads) - limit} more" if len(reads) > limit else ""
        return ", ".join(parts[:limit]) + more


@pytest.fixture(scope="session")
def outside_model(
    nb: Any, state: dict[str, np.ndarray], val_split: tuple[np.ndarray, np.ndarray]
) -> Reads:
    """The tensors predict() reads besides ``model``'s counted parameters (see the module doc)."""
    images = val_split[0]
    first, second = images[: TRACE_SIZES[0]], images[TRACE_SIZES[0] : sum(TRACE_SIZES)]
    constants = constant_reads(
        _traced(nb, first, predict_all(nb, first)), _traced(nb, second, predict_all(nb, second))
    )
    counted = {f"model.{k}" for k in state if k.rsplit(".", 1)[-1] not in BUFFER_SUFFIXES}
    return Reads([r for r in constants if r.name not in counted and not r.bn_stat])


def _traced(nb: Any, images: np.ndarray, plain: np.ndarray) -> list[Any]:
    traced = nb.trace("predict", images, prefer="model")
    agree = float(np.mean(as_labels(traced.result, len(images)) == plain))
    assert agree >= MIN_TRACE_AGREEMENT, (
        f"predict gives other labels while its tensors are counted ({agree:.0%} the same): "
        "what it computes must not depend on how it is called"
    )
    return list(traced.reads)


def constant_reads(first: list[Any], second: list[Any]) -> list[Any]:
    """Reads of the first call that the second call, on other images, made with the same
    content: weights and constants, not the tensors built from the images."""
    seen = Counter((r.numel, r.dtype, r.digest) for r in second)
    kept = []
    for read in first:
        key = (read.numel, read.dtype, read.digest)
        if seen[key] > 0:
            seen[key] -= 1
            kept.append(read)
    return kept


@pytest.fixture(scope="session")
def model_dependence(nb: Any, val_split: tuple[np.ndarray, np.ndarray]) -> float:
    """Share of validation labels that change when ``model``'s weights are shuffled."""
    images = val_split[0][:CHUNK]
    plain = predict_all(nb, images)
    shuffled = as_labels(nb.call_perturbed("predict", images, perturb="model"), len(images))
    return float(np.mean(plain != shuffled))


@pytest.fixture(scope="session")
def save_curves(artifacts: Path) -> Callable[[Mapping[str, np.ndarray]], Path | None]:
    """Draw loss and accuracy per epoch (train and validation) into ``artifacts/curves.png``."""

    def save(curves: Mapping[str, np.ndarray]) -> Path | None:
        figure = _figure(9.0, 3.4)
        if figure is None:
            return None
        for ax, what in zip(figure.subplots(1, 2), ("loss", "acc"), strict=True):
            for split, style in (("train", "o-"), ("val", "s--")):
                values = curves[f"{split}_{what}"]
                ax.plot(np.arange(1, len(values) + 1), values, style, label=split)
            ax.set_xlabel("epoch")
            ax.xaxis.get_major_locator().set_params(integer=True)
            ax.set_title("loss" if what == "loss" else "accuracy")
            ax.grid(alpha=0.3)
            ax.legend()
        return _save(figure, artifacts / "curves.png")

    return save


@pytest.fixture(scope="session")
def save_confusion(artifacts: Path) -> Callable[[np.ndarray, np.ndarray], Path | None]:
    """Draw the 10x10 confusion matrix (counts only) of true ``labels`` and ``pred`` into
    ``artifacts/confusion.png``."""

    def save(labels: np.ndarray, pred: np.ndarray) -> Path | None:
        matrix = confusion(labels, pred)
        accuracy = float(np.trace(matrix)) / max(1, int(matrix.sum()))
        figure = _figure(5.6, 5.0)
        if figure is None:
            return None
        ax = figure.subplots()
        ax.imshow(np.log1p(matrix), cmap="Blues")
        for (row, col), count in np.ndenumerate(matrix):
            if count:
                color = "white" if row == col else "black"
                ax.text(col, row, str(count), ha="center", va="center", fontsize=7, color=color)
        ax.set_xticks(range(10))
        ax.set_yticks(range(10))
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"hidden test: accuracy {accuracy:.4f} ({int(matrix.sum())} digits)")
        return _save(figure, artifacts / "confusion.png")

    return save


def confusion(labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """10x10 counts: rows are true digits, columns predicted ones."""
    return np.bincount(labels * 10 + pred, minlength=100).reshape(10, 10)


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:  # pictures are a bonus: grading does not depend on them
        return None
    return Figure(figsize=(width, height), layout="constrained")


def _save(figure: Any, path: Path) -> Path:
    figure.savefig(path, dpi=100, format="png")
    return path
