"""The cnn_tuning assignment: spec, data, its tests run against a stand-in notebook, the host's
parameter count against torch's, and (slow) the reference and samples through `grade validate`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import nbformat
import numpy as np
import pytest
from markers import needs_torch

from grader.batch.many import in_parallel
from grader.core.errors import MissingName
from grader.core.spec import Assignment, load_assignment
from grader.course.validate import points_layout, validate_assignment
from grader.pipeline import scoring
from grader.pipeline.answers import extract
from grader.pipeline.bridge import Bridge, TensorRead, Traced
from grader.pipeline.bridge.codec import Decoder
from grader.pipeline.execute import preamble, run_notebook
from grader.pipeline.grading import Options
from grader.pipeline.intake import intake
from grader.pipeline.testrun.run import run_tests
from grader.pipeline.workdir import prepare
from grader.sandbox.base import KernelRequest, Mount
from grader.sandbox.choose import Backend
from grader.sandbox.local import LocalSandbox
from grader.testing import parameter_count, parameters_by_layer

REPO = Path(__file__).resolve().parents[2]
FOLDER = REPO / "assignments" / "cnn_tuning"
MNIST = Path("/work/shared/datasets/mnist-test")
PNG = b"\x89PNG\r\n\x1a\n"


def _load(path: Path, name: str) -> ModuleType:
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spec() -> Assignment:
    return load_assignment(FOLDER)


def code_cells(notebook: Path) -> list[str]:
    return [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]


def build_net(notebook: Path) -> Any:
    """The model the notebook's own ``DigitCNN`` cell builds with its own ``config`` cell (the
    cells are run on the host, without training)."""
    torch = pytest.importorskip("torch")
    cells = code_cells(notebook)
    model = next(c for c in cells if c.startswith("class DigitCNN"))
    config = next(c for c in cells if c.startswith("config = {"))
    ns: dict[str, Any] = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "SEED": 0}
    exec(model.split("\nprint(")[0], ns)
    exec(config, ns)
    return ns["DigitCNN"](ns["config"]["channels"], ns["config"]["dropout"])


def reference_answers() -> dict[str, str]:
    return extract(nbformat.read(REPO / "reference_solutions/cnn_tuning.ipynb", as_version=4))


# ---------------------------------------------------------------- spec and data
def test_spec_points_and_limits(spec: Assignment) -> None:
    assert spec.max_points == 12
    assert spec.resources.gpu == "optional" and spec.resources.cpus == 2
    assert set(spec.names.required) == {"model", "predict", "history", "config"}
    check = points_layout(spec)
    assert check.ok, check.detail
    kinds = {q.id: q.kind for q in spec.questions}
    assert kinds["q2a"] == "number" and kinds["q2b"] == "choice"


def test_data_split_is_disjoint_and_stratified() -> None:
    with np.load(FOLDER / "data/public/mnist_public.npz", allow_pickle=False) as f:
        public = {k: f[k] for k in f.files}
    hidden_x = np.load(FOLDER / "data/hidden/test_images.npy", allow_pickle=False)
    hidden_y = np.load(FOLDER / "data/hidden/test_labels.npy", allow_pickle=False)
    assert public["train_images"].shape == (7000, 28, 28)
    assert public["val_images"].shape == (1000, 28, 28) and hidden_x.shape == (2000, 28, 28)
    assert hidden_x.dtype == np.uint8 and hidden_y.dtype == np.int64

    def digests(images: np.ndarray) -> set[str]:
        return {hashlib.sha1(x.tobytes()).hexdigest() for x in images}

    train, val, test = (
        digests(public["train_images"]),
        digests(public["val_images"]),
        digests(hidden_x),
    )
    assert not (train & test) and not (val & test) and not (train & val)
    assert np.bincount(hidden_y, minlength=10).min() >= 170  # every digit, ~20 % of each
    assert not (FOLDER / "data/public/test_labels.npy").exists()


@pytest.mark.skipif(not MNIST.is_dir(), reason="needs the shared MNIST test files")
def test_make_data_rebuilds_identical_files(tmp_path: Path) -> None:
    make_data = _load(FOLDER / "data/make_data.py", "cnn_tuning_make_data")
    make_data.main(MNIST, tmp_path, seed_from=FOLDER / "data/hidden")
    for rel in ("public/mnist_public.npz", "hidden/test_images.npy", "hidden/test_labels.npy"):
        assert (tmp_path / rel).read_bytes() == (FOLDER / "data" / rel).read_bytes(), rel
    assert not (tmp_path / "hidden/transform.json").exists()  # the seed stays where it was


@pytest.mark.skipif(not MNIST.is_dir(), reason="needs the shared MNIST test files")
def test_no_hidden_image_is_a_public_mnist_image() -> None:
    """A table of the 10,000 public MNIST test images answers none of the hidden ones: each
    was distorted (secret seed, label-preserving ranges) yet stays close to its original."""
    make_data = _load(FOLDER / "data/make_data.py", "cnn_tuning_make_data")
    images, labels = make_data.read_idx(MNIST)
    hidden = np.load(FOLDER / "data/hidden/test_images.npy", allow_pickle=False)
    public = {x.tobytes() for x in images}
    assert not any(x.tobytes() in public for x in hidden)
    originals = images[make_data.split(labels)["hidden"]]
    assert np.array_equal(labels[make_data.split(labels)["hidden"]], _hidden_labels())
    changed = np.mean(hidden != originals, axis=(1, 2))
    assert changed.min() > 0.05  # every digit really moved
    ink = originals.sum(axis=(1, 2), dtype=np.float64)
    assert np.all(np.abs(hidden.sum(axis=(1, 2), dtype=np.float64) - ink) < 0.35 * ink)


def test_the_distortion_is_random_per_seed_and_keeps_the_ink() -> None:
    make_data = _load(FOLDER / "data/make_data.py", "cnn_tuning_make_data")
    with np.load(FOLDER / "data/public/mnist_public.npz", allow_pickle=False) as f:
        digits = f["val_images"][:50]
    first, again, other = (make_data.distort(digits, seed) for seed in (1, 1, 2))
    assert np.array_equal(first, again) and not np.array_equal(first, other)
    assert first.dtype == np.uint8 and first.shape == digits.shape
    assert abs(float(first.mean()) - float(digits.mean())) < 0.05 * float(digits.mean())


def _hidden_labels() -> np.ndarray:
    return np.load(FOLDER / "data/hidden/test_labels.npy", allow_pickle=False)


# ---------------------------------------------------------------- host-side parameter count
@pytest.mark.parametrize(
    "notebook",
    [
        "reference_solutions/cnn_tuning.ipynb",
        "student_submissions/cnn_tuning/strong/submission.ipynb",
        "student_submissions/cnn_tuning/model_too_large/submission.ipynb",
        "student_submissions/cnn_tuning/crash_in_training/submission.ipynb",
    ],
)
def test_host_count_equals_torch_count(notebook: str) -> None:
    """The state dict as it crosses the bridge (safetensors), counted on the host without
    BatchNorm buffers, equals sum(p.numel() for p in model.parameters()), layer by layer."""
    kernel_side = _load(REPO / "grader/pipeline/bridge/kernel_side.py", "cnn_tuning_kernel_side")
    net = build_net(REPO / notebook)
    payload = kernel_side._state_dict(net)
    assert set(payload) == {"__safetensors__"}  # weights cross as safetensors, never a pickle
    state = Decoder().decode(payload)
    assert any(name.endswith("running_mean") for name in state) or "too_large" in notebook
    assert parameter_count(state) == sum(p.numel() for p in net.parameters())
    torch_layers: dict[str, int] = {}
    for name, p in net.named_parameters():
        layer = name.rsplit(".", 1)[0]
        torch_layers[layer] = torch_layers.get(layer, 0) + p.numel()
    assert parameters_by_layer(state) == torch_layers


def test_reference_answers_match_the_reference_model() -> None:
    """q2a and q2b of the reference (written in master.ipynb) are true of its own model."""
    net = build_net(REPO / "reference_solutions/cnn_tuning.ipynb")
    count = sum(p.numel() for p in net.parameters())
    by_layer = parameters_by_layer({k: v.detach().numpy() for k, v in net.state_dict().items()})
    answers = reference_answers()
    assert count == 17_018
    assert answers["q2a"].startswith("17 018")
    assert answers["q2b"].startswith(max(by_layer, key=lambda k: by_layer[k]) + " ")


# ---------------------------------------------------------------- the tests, on a stand-in kernel
class StandIn:
    """Answers the bridge calls the cnn_tuning tests make, without a kernel.

    ``trace`` reports ``model``'s state dict and ``reads`` (more weights predict uses) as
    constants, and the images as an input; ``call_perturbed`` answers ``perturbed`` (by default
    labels that ignore the images: predict uses model)."""

    def __init__(
        self,
        *,
        state: dict[str, np.ndarray],
        predict: Callable[[np.ndarray], Any],
        history: Any,
        config: Any,
        reads: tuple[TensorRead, ...] = (),
        perturbed: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.state, self.predict, self.reads = state, predict, reads
        self.perturbed = perturbed or (lambda images: (np.arange(len(images)) * 7 + 3) % 10)
        self.values = {"history": history, "config": config}

    def state_dict(self, name: str) -> dict[str, np.ndarray]:
        return self.state

    def call(self, name: str, *args: Any) -> Any:
        assert name == "predict"
        return self.predict(*args)

    def trace(self, name: str, images: np.ndarray, prefer: str = "") -> Traced:
        assert name == "predict" and prefer == "model"
        weights = [_read(f"model.{k}", v) for k, v in self.state.items() if v.ndim]  # as torch
        data = _read("", images.astype(np.float32))
        return Traced(self.predict(images), [data, *weights, *self.reads])

    def call_perturbed(self, name: str, images: np.ndarray, perturb: str) -> Any:
        assert name == "predict" and perturb == "model"
        return self.perturbed(images)

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise MissingName(name, defined=sorted(self.values))
        return self.values[name]


def _read(name: str, value: np.ndarray, bn_stat: bool = False) -> TensorRead:
    digest = hashlib.sha1(value.tobytes()).hexdigest()
    bn_stat = bn_stat or name.endswith(("running_mean", "running_var"))
    return TensorRead(name, value.shape, str(value.dtype), value.size, digest, bn_stat)


@pytest.fixture(scope="module")
def oracle() -> Callable[[np.ndarray], np.ndarray]:
    """A perfect predict(): looks every known image up (public and hidden)."""
    with np.load(FOLDER / "data/public/mnist_public.npz", allow_pickle=False) as f:
        pairs = [(f["train_images"], f["train_labels"]), (f["val_images"], f["val_labels"])]
    pairs.append(
        (
            np.load(FOLDER / "data/hidden/test_images.npy"),
            np.load(FOLDER / "data/hidden/test_labels.npy"),
        )
    )
    table = {
        x.tobytes(): int(y) for images, labels in pairs for x, y in zip(images, labels, strict=True)
    }
    return lambda images: np.array([table[x.tobytes()] for x in images])


def _state(layers: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray]:
    state = {f"{name}.weight": np.zeros(shape, np.float32) for name, shape in layers.items()}
    state["bn1.running_mean"] = np.zeros(16, np.float32)
    state["bn1.num_batches_tracked"] = np.zeros((), np.int64)
    return state


SMALL = _state({"conv1": (16, 1, 3, 3), "bn1": (16,), "conv2": (32, 16, 3, 3), "fc": (10, 288)})
"""144 + 16 + 4608 + 2880 = 7648 parameters; conv2 is the largest layer."""
HISTORY = {
    "train_loss": [0.5, 0.2],
    "val_loss": [0.3, 0.2],
    "train_acc": [0.9, 0.95],
    "val_acc": [0.93, 0.97],
}
CONFIG = {"epochs": 2, "batch_size": 128, "lr": 0.01, "optimizer": "AdamW"}
GOOD_ANSWERS = {"q2a": "7 648 параметров", "q2b": "conv2.weight — 4608 весов"}


def _points(
    spec: Assignment, notebook: StandIn, answers: dict[str, str], artifacts: Path | None = None
) -> dict[str, tuple[float, str]]:
    bridge = cast(Bridge, notebook)  # duck-typed: the tests only use these calls
    plugin = run_tests(spec, bridge=bridge, hidden=True, answers=answers, artifacts=artifacts)
    results = [scoring.test_result(r) for r in plugin.tests.values()]
    return {r.id.split("::")[-1]: (r.points, r.message) for r in results}


def test_a_perfect_notebook_gets_every_test_point(
    spec: Assignment, oracle: Any, tmp_path: Path
) -> None:
    notebook = StandIn(state=SMALL, predict=oracle, history=HISTORY, config=CONFIG)
    points = _points(spec, notebook, GOOD_ANSWERS, tmp_path)
    assert sum(p for p, _ in points.values()) == pytest.approx(8.0), points
    for picture in ("curves.png", "confusion.png"):
        assert (tmp_path / picture).read_bytes().startswith(PNG)


def test_claims_are_checked_against_the_model(spec: Assignment, oracle: Any) -> None:
    notebook = StandIn(state=SMALL, predict=oracle, history=HISTORY, config=CONFIG)
    wrong = {"q2a": "около 7 700", "q2b": "fc (линейный слой), потом conv2"}
    points = _points(spec, notebook, wrong)
    assert points["test_parameter_count_answer"][0] == 0
    assert "7700" in points["test_parameter_count_answer"][1]
    assert "7648" in points["test_parameter_count_answer"][1]
    assert points["test_largest_layer_answer"][0] == 0
    assert points["test_model_is_a_module"][0] == 0.25


def test_logits_instead_of_labels_fail_the_contract(spec: Assignment, oracle: Any) -> None:
    def logits(images: np.ndarray) -> np.ndarray:
        return np.asarray(np.eye(10)[oracle(images)])

    notebook = StandIn(state=SMALL, predict=logits, history=HISTORY, config=CONFIG)
    points = _points(spec, notebook, GOOD_ANSWERS)
    assert points["test_predict_returns_labels"][0] == 0
    assert "argmax" in points["test_predict_returns_labels"][1]
    assert points["test_hidden_accuracy"][0] == 0 and points["test_parameter_budget"][0] == 0


def test_accuracy_and_budget_are_scaled(spec: Assignment, oracle: Any) -> None:
    def mostly_right(images: np.ndarray) -> np.ndarray:
        labels = oracle(images)
        wrong = np.arange(len(labels)) % 20 == 0  # 5 % wrong → accuracy 0.95 → 2.5 of 4
        return np.asarray(np.where(wrong, (labels + 1) % 10, labels))

    big = _state({"conv1": (16, 1, 3, 3), "fc": (10, 12_486)})  # 144 + 124,860 = 125,004
    notebook = StandIn(state=big, predict=mostly_right, history=HISTORY, config=CONFIG)
    points = _points(spec, notebook, {"q2a": "125004", "q2b": "fc"})
    assert points["test_hidden_accuracy"][0] == pytest.approx(2.5)
    assert points["test_parameter_budget"][0] == pytest.approx(
        2 * (200_000 - 125_004) / 150_000, abs=1e-3
    )
    assert points["test_parameter_count_answer"][0] == 0.5


def test_no_size_points_for_a_model_that_does_not_work(spec: Assignment, oracle: Any) -> None:
    def poor(images: np.ndarray) -> np.ndarray:
        return np.asarray(np.where(np.arange(len(images)) % 5 == 0, 0, oracle(images)))  # ~0.82

    notebook = StandIn(state=SMALL, predict=poor, history=HISTORY, config=CONFIG)
    points = _points(spec, notebook, GOOD_ANSWERS)
    assert points["test_parameter_budget"][0] == 0
    assert "validation accuracy" in points["test_parameter_budget"][1]


def test_a_model_predict_does_not_use_earns_no_size_points(spec: Assignment, oracle: Any) -> None:
    """The decoy: a tiny ``model``, predict() through something else (a lookup table, another
    network): shuffling model's weights changes no label."""
    tiny = {"weight": np.ones((1, 1), np.float32), "bias": np.zeros(1, np.float32)}
    notebook = StandIn(state=tiny, predict=oracle, history=HISTORY, config=CONFIG, perturbed=oracle)
    points = _points(spec, notebook, {"q2a": "2", "q2b": "weight"})
    assert points["test_parameter_budget"][0] == 0
    assert "does not use `model`" in points["test_parameter_budget"][1]
    assert points["test_parameter_count_answer"][0] == 0.5  # the number is model's, as asked


def test_tensors_predict_reads_outside_model_count(spec: Assignment, oracle: Any) -> None:
    """A second network or non-persistent buffers: every constant tensor predict() reads
    counts; batch-norm running statistics and the tensors made from the images do not."""
    hidden_net = _read("net.fc1.weight", np.ones((150, 1568), np.float32))
    extra = (hidden_net, _read("model.scale", np.ones(3, np.float32)))
    stats = _read("net.bn.running_var", np.ones(16, np.float32), bn_stat=True)
    notebook = StandIn(
        state=SMALL, predict=oracle, history=HISTORY, config=CONFIG, reads=(*extra, stats)
    )
    points = _points(spec, notebook, GOOD_ANSWERS)
    total = 7648 + 150 * 1568 + 3
    assert points["test_parameter_budget"][0] == 0
    assert f"{total:,} parameters" in points["test_parameter_budget"][1]
    assert "net.fc1.weight (235,200)" in points["test_parameter_budget"][1]
    arrays = (_read("W", np.ones((100, 1000), np.float32)),)  # numpy made a tensor in predict
    notebook = StandIn(state=SMALL, predict=oracle, history=HISTORY, config=CONFIG, reads=arrays)
    points = _points(spec, notebook, GOOD_ANSWERS)
    assert points["test_parameter_budget"][0] == pytest.approx(2 * 92_352 / 150_000, abs=1e-3)
    assert "W (100,000)" in points["test_parameter_budget"][1]
    assert points["test_parameter_count_answer"][0] == 0.5  # q2a is model's own count


def test_layer_names_of_a_wrapped_model(spec: Assignment, oracle: Any) -> None:
    """torch.compile prefixes every name with ``_orig_mod.``; the answer may leave it out."""
    compiled = {f"_orig_mod.{k}": v for k, v in SMALL.items()}
    notebook = StandIn(state=compiled, predict=oracle, history=HISTORY, config=CONFIG)
    points = _points(spec, notebook, GOOD_ANSWERS)
    assert points["test_largest_layer_answer"][0] == 0.5
    assert points["test_parameter_budget"][0] == 2


def test_history_and_config_are_checked(spec: Assignment, oracle: Any) -> None:
    history = {**HISTORY, "val_acc": [93.0, 97.0]}  # percent, not fractions
    config = {"epochs": 1, "batch_size": 128}  # lr missing, fewer epochs than history
    notebook = StandIn(state=SMALL, predict=oracle, history=history, config=config)
    points = _points(spec, notebook, GOOD_ANSWERS)
    assert points["test_history_has_curves"][0] == 0
    assert "fractions" in points["test_history_has_curves"][1]
    assert points["test_config_states_hyperparameters"][0] == 0
    assert "'lr'" in points["test_config_states_hyperparameters"][1]


# ---------------------------------------------------------------- slow: the real thing
@pytest.mark.slow
@needs_torch
def test_reference_count_through_the_bridge(spec: Assignment, tmp_path: Path) -> None:
    """Run the reference notebook in the local sandbox; the host's count from the fetched state
    dict equals sum(p.numel() for p in model.parameters()) computed in the kernel."""
    sub = intake(
        REPO / "reference_solutions/cnn_tuning.ipynb", preferred=spec.notebook, scratch=tmp_path
    )
    work = prepare(sub, tmp_path, notebook_name=spec.notebook)
    request = KernelRequest(
        workdir=work, limits=spec.resources, mounts=(Mount(spec.path(spec.data.public), "data"),)
    )
    setup = preamble(spec.seed, {"numpy", "torch"}, spec.names.forbidden_imports)
    with run_notebook(sub.nb, sandbox=LocalSandbox(), request=request, setup_code=setup) as ex:
        assert ex.usable and not ex.cell_errors, ex.cell_errors
        with Bridge(ex.kernel.manager, timeout=spec.resources.cell_timeout) as nb:
            state = nb.state_dict("model")
            in_kernel = nb.call("count_parameters", nb.get("model"))
            by_layer = nb.call("parameters_by_layer", nb.get("model"))
    assert parameter_count(state) == in_kernel == 17_018
    assert parameters_by_layer(state) == by_layer
    assert any(k.endswith("num_batches_tracked") for k in state)  # buffers were there


@pytest.mark.slow
@needs_torch
def test_grade_validate_passes(spec: Assignment, tmp_path: Path) -> None:
    """Reference full marks, template near zero, every sample as its expected.toml says."""
    options = Options(sandbox=LocalSandbox(), artifacts=tmp_path / "artifacts")
    many = in_parallel(Backend.LOCAL)  # as grade batch sizes it: cores / the spec's cpus
    checks = validate_assignment(spec, course=REPO, options=options, grade_many=many)
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, failed
    assert len(checks) == 3 + 16


DOCKER_SAMPLES = ("hidden_path_guess", "decoy_buffers_cheat", "crash_in_training", "strong")
"""The samples whose verdict goes through what the container does differently (mounts, a crash,
tensors over the bridge, a full training run); every sample is validated on the local backend
above, in the same CI job, and each one trains a network: all 16 again would cost minutes."""


@pytest.mark.docker
@pytest.mark.slow
def test_grade_validate_passes_under_docker(spec: Assignment, tmp_path: Path) -> None:
    """The reference, the template and DOCKER_SAMPLES through the Docker sandbox (torch from the
    runtime image, the container's memory/pids/CPU limits, public data mounted read-only, state
    dicts over the bridge). Skipped without an engine or image, except in CI."""
    from docker.errors import ImageNotFound

    from grader.core.errors import SandboxError
    from grader.sandbox.docker import DockerSandbox, connect
    from grader.sandbox.docker.image import runtime_image_tag

    try:
        client = connect(timeout=10)
        client.images.get(runtime_image_tag())
        client.close()
    except (SandboxError, ImageNotFound) as exc:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            raise
        pytest.skip(f"no Docker engine or runtime image: {exc}")
    options = Options(sandbox=DockerSandbox(), artifacts=tmp_path / "artifacts")
    many = in_parallel(Backend.DOCKER)  # two trainings of 2 threads each on 2 cores: slower
    checks = validate_assignment(
        spec, course=REPO, options=options, grade_many=many, samples=DOCKER_SAMPLES
    )
    failed = [f"{c.name}: {c.detail}" for c in checks if not c.ok]
    assert not failed, failed
    assert len(checks) == 3 + len(DOCKER_SAMPLES)
