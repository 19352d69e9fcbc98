"""Fixtures shared by the public and hidden tests of gd_backprop (host side).

The course fixes only the API: the classes (``LinearRegressionGD`` / ``MLPRegressor``, or last
year's ``LinearRegressorGD``, ``MLP``), their constructor parameters (``learning_rate``,
``max_iter`` or ``n_iter``, ``hidden_layer_sizes``), ``train`` (or ``fit``) and ``predict``.
Everything else is the student's choice, so the tests name nothing else:

* **Linear regression** is judged by its predictions only: a linear model is fixed by what it
  predicts at 0 and at the unit vectors, so θ = (w, b) is read back whatever it is called, then
  one training step is compared with −lr·∇MSE (or −lr·∇½MSE: a positive scale c of ½ or 1).
* **The MLP's weights are found by their shapes** among the float arrays the object holds
  (``h.arrays()``; any names, lists, dicts, layer objects, transposed or with the bias folded in),
  keeping those that change ``predict``. One step of training (max_iter = K + 1 against K, same
  seed) is compared, array by array, with central finite differences of the MSE of the student's
  own ``predict`` along random directions: activation-agnostic, and the ½ factor is a scale.
  Where the weights cannot be found unambiguously the tests fall back to behaviour.
* **Backprop, not numerical gradients**: a backprop step costs a few forward passes, finite
  differences two per weight. ``step_cost`` counts the forward passes in one step of a wide net.

Everything the host computes is bounded: arrays are capped in number and size when fetched, and
each test's bridge calls run under a time budget (the test fails with a message, the batch goes
on). The grader imports test files with pytest's importlib mode and puts nothing on sys.path, so
a test file cannot import a helper module: each helper reaches the tests as a fixture of the same
name. Students get this file with tests/public: nothing here is about the hidden tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.core.errors import GraderError, RemoteError

SCALES = {1.0: "MSE", 0.5: "½·MSE"}
"""Accepted scales c of a step −lr·c·∇MSE: the loss is MSE or ½·MSE."""
SEED = 12345
NOT_REPRODUCIBLE = (
    "два обучения с одинаковыми параметрами и np.random.seed дали разные веса: инициализация "
    "не воспроизводима (используйте np.random или default_rng(seed))"
)
WIDE = (128,)
"""The net whose training step is costed: wide, so two forward passes per weight are many."""


# ---------------------------------------------------------------- budgets and predictions
class Budget:
    """A time budget for the bridge calls of one test: ``check()`` fails the test once spent."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.start = time.monotonic()

    def check(self) -> None:
        spent = time.monotonic() - self.start
        assert spent <= self.seconds, (
            f"проверка заняла больше {self.seconds:g} с (прошло {spent:.0f} с): обучение или "
            "predict слишком медленные"
        )


def predictions(model: Any, X: np.ndarray) -> np.ndarray:
    """``model.predict(X)`` as float64 (n,); (n, 1) and (1, n) are accepted."""
    pred = np.asarray(model.predict(X))
    n = X.shape[0]
    assert pred.size == n and pred.ndim <= 2 and (pred.ndim < 2 or 1 in pred.shape), (
        f"predict(X) для X формы {X.shape} должен вернуть массив формы ({n},), а вернул "
        f"{pred.shape}"
    )
    assert pred.dtype.kind in "fiu", f"predict(X) вернул массив типа {pred.dtype}, а не чисел"
    return pred.astype(np.float64).reshape(-1)


def mse(pred: np.ndarray, y: np.ndarray) -> float:
    with np.errstate(over="ignore", invalid="ignore"):
        return float(np.mean((pred - y) ** 2))


def trained(nb: Any, name: str, X: np.ndarray, y: np.ndarray, **params: Any) -> Any:
    """A new ``name(**params)`` trained on X, y, with the kernel's random generators seeded
    before the constructor and before ``train`` (so the same call gives the same model)."""
    nb.seed(SEED)
    model = nb.new(name, **params)
    nb.seed(SEED)
    model.train(X, y)
    return model


# ---------------------------------------------------------------- part 1: linear models
def theta_of(model: Any, d: int) -> np.ndarray:
    """(w_1..w_d, b) of a linear model, from its predictions at 0 and at the unit vectors."""
    probe = np.vstack([np.zeros(d), np.eye(d)])
    pred = predictions(model, probe)
    return np.append(pred[1:] - pred[0], pred[0])


def design(X: np.ndarray) -> np.ndarray:
    return np.column_stack([X, np.ones(len(X))])


def mse_gradient(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    Z = design(X)
    return 2.0 / len(y) * Z.T @ (Z @ theta - y)


def gd_steps(theta: np.ndarray, X: np.ndarray, y: np.ndarray, lr: float, c: float, steps: int):
    """θ after ``steps`` steps θ ← θ − lr·c·∇MSE."""
    for _ in range(steps):
        theta = theta - lr * c * mse_gradient(theta, X, y)
    return theta


@dataclass(frozen=True)
class Step:
    """How one training step Δθ relates to g = ∇MSE: Δθ ≈ −lr·c·g, off by ``residual``."""

    c: float
    residual: float


def linear_step(before: np.ndarray, after: np.ndarray, X, y, lr: float) -> Step:
    g = mse_gradient(before, X, y)
    delta = after - before
    c = -float(delta @ g) / (lr * float(g @ g))
    norm = max(float(np.linalg.norm(delta)), 1e-300)
    return Step(c, float(np.linalg.norm(delta + lr * c * g)) / norm)


def scale_name(c: float, tol: float = 0.02) -> str | None:
    """The loss a step's scale c stands for ("MSE", "½·MSE"), or None."""
    return next((name for s, name in SCALES.items() if abs(c - s) <= tol * s), None)


def explain_scale(c: float, n: int) -> str:
    """A student's words for a step of c·lr·∇MSE with c neither 1 nor ½."""
    if not np.isfinite(c):
        return "шаг не конечен (nan/inf): обучение разошлось"
    if c <= 0:
        return "шаг идёт не против градиента, а вдоль него (знак?)"
    for s in SCALES:
        if abs(c / (n * s) - 1) < 0.05:
            return (
                f"шаг в {c:.3g} раз больше lr·∇MSE — в n = {n} раз: градиент не поделён на n "
                "(сумма вместо среднего), при таком шаге GD расходится"
            )
    return (
        f"шаг равен {c:.3g}·learning_rate·∇MSE, а должен быть learning_rate·∇L (L — MSE или "
        "½·MSE): learning_rate из конструктора не используется как шаг, или функция потерь другая"
    )


# ---------------------------------------------------------------- part 2: finding MLP weights
def layer_dims(d: int, sizes: tuple[int, ...]) -> list[tuple[int, int]]:
    dims = [d, *sizes, 1]
    return list(pairwise(dims))


def parameter_count(d: int, sizes: tuple[int, ...]) -> int:
    return sum((i + 1) * o for i, o in layer_dims(d, sizes))


def roles(shape: tuple[int, ...], d: int, sizes: tuple[int, ...]) -> set[tuple[int, str]]:
    """What an array of ``shape`` can be: (layer, "W" | "b" | "Wb" | "all") for every layer it
    fits (weights (in, out) or transposed, bias (out,), (1, out), (out, 1) or a number for one
    unit, weights with the bias folded in, or every parameter in one flat vector)."""
    out: set[tuple[int, str]] = set()
    for k, (i, o) in enumerate(layer_dims(d, sizes)):
        if shape in {(i, o), (o, i)}:
            out.add((k, "W"))
        if shape in {(i + 1, o), (o, i + 1)}:
            out.add((k, "Wb"))
        if shape in {(o,), (1, o), (o, 1)} or (o == 1 and shape in {(), (1, 1)}):
            out.add((k, "b"))
    total = parameter_count(d, sizes)
    if shape in {(total,), (total, 1), (1, total)}:
        out.add((-1, "all"))
    return out


def describe(name: str, shape: tuple[int, ...], d: int, sizes: tuple[int, ...]) -> str:
    """``coefs_[0] (6, 7)``, with the layer when the shape says it unambiguously."""
    found = roles(shape, d, sizes)
    last = len(sizes)
    text = f"{name} {shape}"
    if len(found) == 1:
        ((k, kind),) = found
        what = {"W": "веса", "b": "смещения", "Wb": "веса со смещением", "all": "все параметры"}
        layer = "выходной слой" if k == last else f"скрытый слой {k + 1}"
        text += f" — {what[kind]}, {layer}" if k >= 0 else f" — {what[kind]}"
    return text


@dataclass
class Found:
    """The trainable arrays of a trained model: name → value, or why they were not found."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    problem: str = ""
    single: bool = False
    """Some are float32 or smaller: finite differences need a larger step and tolerance."""


def layer_shapes(d: int, sizes: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Every shape :func:`roles` knows for this network."""
    total = parameter_count(d, sizes)
    shapes: set[tuple[int, ...]] = {(), (1, 1), (total,), (total, 1), (1, total)}
    for i, o in layer_dims(d, sizes):
        shapes |= {(i, o), (o, i), (i + 1, o), (o, i + 1), (o,), (1, o), (o, 1)}
    return sorted(shapes)


def _container(name: str) -> str:
    return name.rsplit("[", 1)[0] if name.endswith("]") else name


def candidates(held: dict[str, np.ndarray]) -> list[str]:
    """The arrays worth trying, likeliest first: arrays in small containers before those in
    long ones (weights live in attributes and short lists, copies kept for plots in long ones);
    plain numbers only when there are a few (a list of floats is data, not a bias)."""
    names = [
        k for k in held if held[k].shape != () or sum(v.shape == () for v in held.values()) <= 8
    ]
    crowd = {c: sum(_container(n) == c for n in names) for c in map(_container, names)}
    return sorted(names, key=lambda n: crowd[_container(n)])


def find_weights(
    model: Any, X: np.ndarray, d: int, sizes: tuple[int, ...], budget: Budget
) -> Found:
    """The float arrays of ``model`` shaped like its layers that change ``predict(X)``; they
    must hold exactly the network's parameter count (numbers count as arrays of shape ()).
    Tried in the order of :func:`candidates`, until the count is reached."""
    total = parameter_count(d, sizes)
    held = model.arrays(max_items=4096, max_elements=total, shapes=layer_shapes(d, sizes))
    base = predictions(model, X)
    used: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(SEED)
    try:
        for name in candidates(held):
            if sum(v.size for v in used.values()) >= total:
                break
            budget.check()
            value = held[name]
            model.put(name, value + 1e-3 * (1 + np.abs(value)) * rng.standard_normal(value.shape))
            moved = predictions(model, X)
            model.put(name, value)
            if not np.array_equal(moved, base):
                used[name] = value.astype(np.float64)
    except RemoteError as exc:  # predict rebuilt what it reads, say
        return Found(problem=f"веса не удалось проверить: {exc.target} вызвал {exc.type}")
    size = sum(v.size for v in used.values())
    if size != total:
        listed = ", ".join(f"{k} {v.shape}" for k, v in used.items()) or "ни одного"
        return Found(
            problem=f"не удалось однозначно найти веса сети: массивы, от которых зависит "
            f"predict, — {listed}; в них {size} чисел, а у сети {list(sizes)} их {total}"
        )
    return Found(used, single=any(held[k].dtype.itemsize < 8 for k in used))


# ---------------------------------------------------------------- part 2: one step vs gradient
@dataclass(frozen=True)
class ArrayStep:
    """One array's step s = ⟨−Δ/lr, v⟩ and the finite difference f = ∂L/∂v along v."""

    name: str
    step: float
    fd: float
    unchanged: bool


@dataclass
class MlpStep:
    """One training step of an MLP against finite differences of its own loss."""

    problem: str = ""
    """Why the step could not be checked (weights not found, not reproducible): behaviour only."""
    c: float = float("nan")
    parts: list[ArrayStep] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    """Arrays whose step is not c × their gradient."""
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)


def _direction(value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    scale = float(np.sqrt(np.mean(value**2))) if value.size else 1.0
    return rng.standard_normal(value.shape) * max(scale, 1e-2)


def _directional(model, name, value, v, X, y, eps) -> float:
    model.put(name, value + eps * v)
    plus = mse(predictions(model, X), y)
    model.put(name, value - eps * v)
    minus = mse(predictions(model, X), y)
    model.put(name, value)
    return (plus - minus) / (2 * eps)


def mlp_step(
    nb: Any,
    name: str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    sizes: tuple[int, ...],
    lr: float,
    steps: int = 1,
    budget: Budget,
) -> MlpStep:
    """Train with max_iter = steps and steps + 1 (and steps again, for reproducibility); compare
    the difference of the weights, array by array, with finite differences of the MSE of
    ``predict`` at the first weights, along two random directions per array."""
    params = {"hidden_layer_sizes": sizes, "learning_rate": lr}
    d = X.shape[1]
    first = trained(nb, name, X, y, max_iter=steps, **params)
    found = find_weights(first, X, d, sizes, budget)
    if found.problem:
        return MlpStep(problem=found.problem)
    names = list(found.arrays)
    again = trained(nb, name, X, y, max_iter=steps, **params).arrays(names=names)
    if any(not np.array_equal(again.get(k), v) for k, v in found.arrays.items()):
        return MlpStep(problem=NOT_REPRODUCIBLE)
    budget.check()
    later = trained(nb, name, X, y, max_iter=steps + 1, **params).arrays(names=names)
    shapes = {k: v.shape for k, v in found.arrays.items()}
    changed = [k for k in found.arrays if k not in later or later[k].shape != shapes[k]]
    assert not changed, f"после ещё одного шага обучения изменились формы или пропали: {changed}"
    rng = np.random.default_rng(SEED)
    eps, tol = (1e-3, 3e-2) if found.single else (1e-6, 1e-3)
    parts = []
    try:
        for key, value in found.arrays.items():
            delta = np.asarray(later[key], dtype=np.float64) - value
            for _ in range(2):
                budget.check()
                v = _direction(value, rng)
                fd = _directional(first, key, value, v, X, y, eps)
                parts.append(ArrayStep(key, -float(np.sum(delta * v)) / lr, fd, not delta.any()))
    except RemoteError as exc:
        return MlpStep(problem=f"веса не удалось проверить: {exc.target} вызвал {exc.type}")
    return judge(parts, shapes, tol=tol)


def judge(parts: list[ArrayStep], shapes: dict[str, tuple[int, ...]], tol: float) -> MlpStep:
    """The scale c of the step (1 or ½ if any array agrees with it, else the median ratio) and
    the arrays whose step is not c × their gradient."""
    fd = np.array([p.fd for p in parts])
    step = np.array([p.step for p in parts])

    def disagree(c: float) -> list[str]:
        floor = 1e-3 * float(np.max(np.abs(c * fd)))
        err = np.abs(step - c * fd) / np.maximum(np.maximum(np.abs(c * fd), floor), 1e-300)
        return [p.name for p, e in zip(parts, err, strict=True) if not e <= tol]

    if not np.all(np.isfinite(step)) or not np.any(fd):
        return MlpStep(c=float("nan"), parts=parts, bad=list(shapes), shapes=shapes)
    c = min(SCALES, key=lambda s: len(disagree(s)))
    if len(disagree(c)) == len(parts):
        with np.errstate(divide="ignore", invalid="ignore"):
            c = float(np.nanmedian(step / fd))
    return MlpStep(c=c, parts=parts, bad=list(dict.fromkeys(disagree(c))), shapes=shapes)


def explain_step(result: MlpStep, d: int, sizes: tuple[int, ...], n: int) -> str:
    """What a student reads when a step disagrees with the gradient: the effect, by array."""
    if not result.bad:
        return explain_scale(result.c, n)
    shapes = result.shapes
    listed = "; ".join(describe(k, shapes[k], d, sizes) for k in result.bad)
    ok = [k for k in shapes if k not in result.bad]
    frozen = {p.name for p in result.parts if p.unchanged}
    if set(result.bad) <= frozen:
        return (
            f"шаг обучения не меняет {listed}, хотя градиент по ним не нулевой: ошибка δ не "
            "доходит до этих слоёв (проход назад не обновляет δ через W и производную "
            "активации) или их веса не обновляются"
        )
    last = len(sizes)
    kinds = [roles(shapes[k], d, sizes) for k in result.bad]
    if all(any(kind == "b" for _, kind in r) for r in kinds) and ok:
        ratios = [p.step / (result.c * p.fd) for p in result.parts if p.name in result.bad]
        mean_ratio = float(np.median(ratios))
        how = (
            f"в {1 / mean_ratio:.3g} ≈ n раз меньше нужного: δ усреднён по батчу, а нужна сумма"
            if abs(mean_ratio * n - 1) < 0.05
            else "не совпадает с градиентом"
        )
        return (
            f"шаг смещений ({listed}) {how}: градиент смещения — сумма δ по объектам "
            "батча (axis=0), а шаг весов верен"
        )
    if ok and all(any(0 <= k < last for k, _ in r) for r in kinds):
        return (
            f"выходной слой обучается верно, но шаг скрытых слоёв ({listed}) не совпадает с "
            "градиентом вашей же функции потерь (конечные разности): ошибка δ неверно "
            "переносится назад — проверьте производную функции активации (в точке z = aW + b) "
            "и умножение δ на Wᵀ на каждом слое"
        )
    return (
        f"шаг обучения не совпадает с −learning_rate·∇L (градиент вашей же функции потерь, "
        f"посчитанный конечными разностями) для: {listed}"
    )


# ---------------------------------------------------------------- part 2: cost of a step
@dataclass(frozen=True)
class StepCost:
    """Forward passes in one training step of a wide net (None: could not be measured)."""

    forward_passes: float | None
    parameters: int
    seconds_ratio: float | None
    step_seconds: float = 0.0

    @property
    def numerical(self) -> bool:
        """Two forward passes per weight: finite differences, not backprop. Counted calls are
        exact; time (for a forward pass written inline) only counts when a step is long enough
        that a busy machine cannot fake it (the best of three runs, over 20 ms)."""
        counted = self.forward_passes is not None and self.forward_passes > self.parameters / 4
        ratio = self.seconds_ratio or 0.0
        timed = ratio > self.parameters / 2 and self.step_seconds > 0.02
        return counted or timed

    def message(self) -> str:
        counted = self.forward_passes or 0.0
        passes = counted if counted > self.parameters / 4 else (self.seconds_ratio or counted)
        return (
            f"один шаг обучения сети с {self.parameters} весами стоит около {passes:.0f} прямых "
            "проходов (вызовов predict): так считают градиент конечными разностями (два прохода "
            "на каждый вес), а backprop стоит нескольких проходов. Баллы за backpropagation "
            "даются только за backpropagation"
        )


def measure_step_cost(nb: Any, X: np.ndarray, y: np.ndarray, sizes: tuple[int, ...]) -> StepCost:
    """Count calls of the notebook's functions in train(max_iter=3) minus train(max_iter=1),
    per call of the same function in one predict; the kernel-side seconds likewise."""
    params = {"hidden_layer_sizes": sizes, "learning_rate": 1e-3}
    total = parameter_count(X.shape[1], sizes)
    nb.seed(SEED)
    one = nb.new("MLPRegressor", max_iter=1, **params)
    three = nb.new("MLPRegressor", max_iter=3, **params)
    calls_one = one.call_counts("train", X, y)
    calls_three = three.call_counts("train", X, y)
    calls_predict = one.call_counts("predict", X)
    passes = [
        (calls_three.get(f, 0) - calls_one.get(f, 0)) / 2 / n
        for f, n in calls_predict.items()
        if n > 0
    ]
    t_predict = min(one.timed("predict", X) for _ in range(3))
    t_step = (
        min(three.timed("train", X, y) for _ in range(3))
        - min(one.timed("train", X, y) for _ in range(3))
    ) / 2
    ratio = t_step / t_predict if t_predict > 0 else None
    return StepCost(max(passes) if passes else None, total, ratio, t_step)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def diabetes(public_data: Path) -> tuple[np.ndarray, np.ndarray]:
    """The training set students get: X (n, 10) and y, not standardized."""
    with np.load(public_data / "diabetes_train.npz", allow_pickle=False) as f:
        return f["X"], f["y"]


@pytest.fixture(scope="session")
def step_cost(nb: Any, diabetes: tuple[np.ndarray, np.ndarray]) -> StepCost:
    """The cost of one training step of MLPRegressor((128,)) on 8 samples (1537 weights); not
    measured (None) when the notebook's class fails here: the tests themselves will say why."""
    X, y = diabetes[0][:8], (diabetes[1][:8] - 150.0) / 80.0
    try:
        return measure_step_cost(nb, X, y, WIDE)
    except (GraderError, AssertionError):
        return StepCost(None, parameter_count(X.shape[1], WIDE), None)


@pytest.fixture
def uses_backprop(step_cost: StepCost, hint: Callable[[str], None]) -> None:
    """Fails the test when a training step costs two forward passes per weight."""
    if step_cost.numerical:
        hint(step_cost.message())
        pytest.fail(step_cost.message())


@pytest.fixture
def behaviour(
    nb: Any, credit: Callable[..., None], hint: Callable[[str], None]
) -> Callable[..., None]:
    """``behaviour(problem, X, y, sizes, lr)``: where a step cannot be checked against the
    gradient (``problem`` says why), 3/4 of the points if 50 steps lower the loss."""

    def check(problem: str, X: np.ndarray, y: np.ndarray, sizes: tuple[int, ...], lr: float):
        hint(f"{problem}; по поведению: 50 шагов обучения не уменьшают ошибку")
        params = {"hidden_layer_sizes": sizes, "learning_rate": lr}
        start = mse(predictions(trained(nb, "MLPRegressor", X, y, max_iter=1, **params), X), y)
        end = mse(predictions(trained(nb, "MLPRegressor", X, y, max_iter=51, **params), X), y)
        assert end < 0.99 * start, f"{problem}; MSE {start:.4g} -> {end:.4g}"
        told = f"{problem}. Шаг не проверен, засчитано по поведению (ошибка падает): 3/4 баллов"
        hint(told)
        credit(0.75, told)

    return check


@pytest.fixture
def budget() -> Budget:
    """60 s for the bridge calls of one test."""
    return Budget(60.0)


def _provide(helper: Callable[..., Any]) -> Any:
    """A fixture named like ``helper`` that returns it."""
    return pytest.fixture(scope="session", name=helper.__name__)(lambda: helper)


predictions_fixture = _provide(predictions)
mse_fixture = _provide(mse)
trained_fixture = _provide(trained)
theta_of_fixture = _provide(theta_of)
linear_step_fixture = _provide(linear_step)
gd_steps_fixture = _provide(gd_steps)
scale_name_fixture = _provide(scale_name)
explain_scale_fixture = _provide(explain_scale)
mlp_step_fixture = _provide(mlp_step)
explain_step_fixture = _provide(explain_step)
find_weights_fixture = _provide(find_weights)
parameter_count_fixture = _provide(parameter_count)
