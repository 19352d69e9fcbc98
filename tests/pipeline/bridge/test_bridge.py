"""The bridge against a live kernel: calls, handles, aliases, errors, time limits, weights.

One kernel (LocalSandbox) runs the notebook below once and serves every test in this module;
only the dead-kernel test starts its own."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import numpy as np
import pytest
from markers import HAS_TORCH, needs_torch

from grader.core.errors import (
    BridgeError,
    BridgeTimeout,
    MissingName,
    PayloadRejected,
    RemoteError,
)
from grader.core.spec import Resources
from grader.pipeline.bridge import Bridge, Handle, TensorRead
from grader.pipeline.execute import Execution, preamble, run_notebook
from grader.sandbox.base import KernelRequest
from grader.sandbox.local import LocalSandbox

SEED = 3
ALIASES = {
    "Counter": ["Tally"],
    "Model.train": ["fit"],
    "Model.max_iter": ["n_iter"],
    "run_steps.max_iter": ["n_iter"],
}
CELLS = [
    "import os, time\nimport numpy as np",
    """
def add(a, b=0):
    return a + b


def identity(value):
    return value


def boom():
    raise ValueError("bad input 42")


def leave():
    raise SystemExit(3)


def slow(seconds):
    time.sleep(seconds)
    return "done"


def run_steps(n_iter=1):
    return n_iter


def object_array():
    return np.array([object()], dtype=object)


def describe(model):
    return [type(model).__name__, model.seen]


def in_run_cell():
    import traceback
    return any(frame.name == "run_cell" for frame in traceback.extract_stack())


def die():
    os._exit(1)
""",
    """
class Model:
    def __init__(self, lr=0.1, n_iter=10):
        self.lr = lr
        self.n_iter = n_iter
        self.seen = 0

    def fit(self, X):
        self.seen += len(X)
        return self

    def predict(self, X):
        return np.asarray(X) * 2


class Tally:
    def __init__(self, start=0):
        self.total = start

    def add(self, n):
        self.total += n
        return self.total
""",
    """
class Layer:
    def __init__(self, W):
        self.W = W
        self.cache = None


class Net:
    \"\"\"Weights in every container a student might use, one array reachable twice.\"\"\"

    def __init__(self):
        first = np.ones((2, 3))
        self.layers = [Layer(first), Layer(np.zeros((3, 1)))]
        self.first = first                       # the same array again
        self.params = {"b1": np.zeros(3), "steps": 4}
        self.b_out = 0.5
        self.big = np.zeros(5000)
        self.labels = np.arange(3)                # integers: not weights

    def predict(self, X):
        h = np.maximum(X @ self.layers[0].W + self.params["b1"], 0)
        return (h @ self.layers[1].W).ravel() + self.b_out

    def fit(self, X, steps=1):
        for _ in range(steps):
            self.predict(X)


class Crowd:
    def __init__(self):
        self.snapshots = [np.zeros(1) for _ in range(5000)]
        self.nested = [[[[1.0] * 50] * 50] * 50]
        self.weights = np.ones((2, 2))


def draws():
    return [float(np.random.rand()), float(np.random.default_rng().random())]
""",
    "answer = 42\n_private = 1",
]
TORCH_CELL = """
import torch

seeded = torch.rand(3)  # the first draw after the grader's seeding
lin = torch.nn.Linear(3, 2)
with torch.no_grad():
    lin.weight.copy_(torch.arange(6.0).reshape(2, 3))
    lin.bias.fill_(0.5)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
n_params = sum(p.numel() for p in net.parameters())
net_weights = dict(net.state_dict())
loss = torch.tensor(0.25)
expected_seeded = torch.rand(3, generator=torch.Generator().manual_seed(SEED))

small = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)).eval()
small.register_buffer("hidden_scale", torch.full((3,), 2.0), persistent=False)
extra = np.eye(3, dtype=np.float32)


def forward_small(X):
    x = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    with torch.no_grad():
        out = small(x) * small.hidden_scale
        return (out @ torch.from_numpy(extra) + torch.tensor([0.5, 0.5, 0.5])).argmax(1)


def ignores_small(X):
    return np.zeros(len(X), dtype=np.int64)


hidden_w = torch.arange(12.0)
hidden_half = hidden_w[:6]


def through_a_view(X):
    return float((hidden_half if len(X) < 4 else hidden_w).sum())  # a view, or its base
""".replace("SEED", str(SEED))
if HAS_TORCH:
    CELLS.append(TORCH_CELL)


@contextmanager
def start_kernel(workdir: Path, cells: list[str], seeded: set[str]) -> Iterator[Execution]:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    request = KernelRequest(workdir=workdir, limits=Resources(cell_timeout=60, total_timeout=120))
    setup = preamble(SEED, seeded, [])
    with run_notebook(notebook, sandbox=LocalSandbox(), request=request, setup_code=setup) as ex:
        assert ex.outcome.completed, ex.outcome
        assert ex.cell_errors == ()
        yield ex


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Execution]:
    seeded = {"numpy", "torch"} if HAS_TORCH else {"numpy"}
    with start_kernel(tmp_path_factory.mktemp("bridge"), CELLS, seeded) as ex:
        yield ex


@pytest.fixture(scope="module")
def nb(kernel: Execution) -> Iterator[Bridge]:
    with Bridge(kernel.kernel.manager, aliases=ALIASES, timeout=30) as bridge:
        yield bridge


# ------------------------------------------------------------------ names and values
def test_names(nb: Bridge) -> None:
    names = set(nb.names())
    assert {"add", "Model", "Tally", "answer"} <= names
    assert not names & {"np", "torch", "os", "time", "_private", "In", "Out", "get_ipython"}


def test_has(nb: Bridge) -> None:
    assert nb.has("add") and nb.has("Counter")  # 'Counter' through its alias 'Tally'
    assert not nb.has("nope") and not nb.has("_private")


def test_call(nb: Bridge) -> None:
    assert nb.call("add", 2, b=3) == 5
    assert nb.call("add", "a", "b") == "ab"
    out = nb.call("add", np.arange(3), b=1)
    assert isinstance(out, np.ndarray) and out.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "value",
    [
        None,
        1.5,
        float("inf"),
        (1, [2, (3,)]),
        {1: "a", (2, 3): None},
        np.arange(6.0).reshape(2, 3),
        np.array(2.5),
    ],
    ids=repr,
)
def test_values_survive_the_kernel(nb: Bridge, value: object) -> None:
    back = nb.call("identity", value)
    if isinstance(value, np.ndarray):
        assert isinstance(back, np.ndarray)
        assert back.shape == value.shape and np.array_equal(back, value)
    else:
        assert repr(back) == repr(value)


def test_get(nb: Bridge) -> None:
    assert nb.get("answer") == 42


@needs_torch
def test_get_torch_values(nb: Bridge) -> None:
    assert {"lin", "loss"} <= set(nb.names())
    lin = nb.get("lin")
    assert isinstance(lin, Handle) and lin.ref.type == "Linear"
    loss = nb.get("loss")  # a 0-d tensor stays 0-d
    assert isinstance(loss, np.ndarray) and loss.shape == () and float(loss) == 0.25


@needs_torch
def test_torch_is_seeded(nb: Bridge) -> None:
    assert np.array_equal(nb.get("seeded"), nb.get("expected_seeded"))


# ------------------------------------------------------------------ handles and aliases
def test_new_and_handle_methods(nb: Bridge) -> None:
    model = nb.new("Model", lr=0.5)
    assert isinstance(model, Handle) and model.ref.type == "Model"
    assert model.get("lr") == 0.5
    assert model.predict([1, 2]).tolist() == [2, 4]
    again = model.call("fit", [1, 2, 3])
    assert isinstance(again, Handle) and again.ref.id == model.ref.id
    assert model.get("seen") == 3
    assert nb.call("describe", model) == ["Model", 3]  # a handle goes back as the object


def test_class_alias(nb: Bridge) -> None:
    counter = nb.new("Counter", start=5)
    assert counter.ref.type == "Tally"
    assert counter.add(2) == 7 and counter.add(1) == 8


def test_method_alias(nb: Bridge) -> None:
    model = nb.new("Model")
    model.train([1, 2])  # the notebook calls it fit
    assert model.get("seen") == 2


def test_parameter_aliases(nb: Bridge) -> None:
    assert nb.new("Model", max_iter=5).get("n_iter") == 5
    assert nb.call("run_steps", max_iter=7) == 7
    with pytest.raises(RemoteError) as info:
        nb.call("add", 1, c=2)  # no alias: the notebook's own error
    assert info.value.type == "TypeError"


def test_private_attributes_are_not_methods(nb: Bridge) -> None:
    model = nb.new("Model")
    with pytest.raises(AttributeError):
        model._secret  # noqa: B018


# ------------------------------------------------------------------ errors
def test_remote_error_carries_the_type(nb: Bridge) -> None:
    with pytest.raises(RemoteError) as info:
        nb.call("boom")
    assert (info.value.type, info.value.target) == ("ValueError", "boom()")
    assert "bad input 42" in info.value.message


def test_system_exit_is_an_error_not_an_exit(nb: Bridge) -> None:
    with pytest.raises(RemoteError) as info:
        nb.call("leave")
    assert info.value.type == "SystemExit"
    assert nb.call("add", 1, 1) == 2


def test_missing_name_lists_what_is_defined(nb: Bridge) -> None:
    with pytest.raises(MissingName) as info:
        nb.call("nope", 1)
    assert info.value.name == "nope"
    assert {"add", "Model"} <= set(info.value.defined)
    assert "np" not in info.value.defined


def test_missing_method_and_attribute(nb: Bridge) -> None:
    model = nb.new("Model")
    with pytest.raises(MissingName) as info:
        model.nosuch()
    assert info.value.name == "Model.nosuch"
    with pytest.raises(MissingName) as info:
        model.get("weights")
    assert info.value.name == "Model.weights"


def test_result_that_is_not_data(nb: Bridge) -> None:
    with pytest.raises(RemoteError) as info:
        nb.call("object_array")
    assert info.value.type == "TypeError"


def test_argument_that_is_not_data(nb: Bridge) -> None:
    with pytest.raises(BridgeError) as info:
        nb.call("identity", {1, 2})
    assert type(info.value) is BridgeError


def test_unstarted_bridge(kernel: Execution) -> None:
    with pytest.raises(BridgeError):
        Bridge(kernel.kernel.manager).call("add", 1)


def test_timeout_interrupts_and_the_kernel_stays_usable(kernel: Execution, nb: Bridge) -> None:
    with Bridge(kernel.kernel.manager, timeout=1) as quick:
        started = time.monotonic()
        with pytest.raises(BridgeTimeout) as info:
            quick.call("slow", 120)
        assert time.monotonic() - started < 15
        assert (info.value.target, info.value.seconds) == ("slow()", 1)
    started = time.monotonic()
    assert nb.call("add", 1, 2) == 3
    assert time.monotonic() - started < 15  # the slow call was interrupted, not waited for


# ------------------------------------------------------------------ weights
@needs_torch
def test_state_dict_of_a_linear_layer(nb: Bridge) -> None:
    state = nb.state_dict("lin")
    assert set(state) == {"weight", "bias"}
    assert state["weight"].dtype == np.float32
    assert np.array_equal(state["weight"], np.arange(6.0).reshape(2, 3))
    assert np.array_equal(state["bias"], [0.5, 0.5])
    via_handle = nb.get("lin").state_dict()
    assert all(np.array_equal(via_handle[k], v) for k, v in state.items())


@needs_torch
def test_state_dict_parameter_count(nb: Bridge) -> None:
    state = nb.state_dict("net")
    assert sum(v.size for v in state.values()) == nb.get("n_params") == 4 * 8 + 8 + 8 + 1
    tensors = nb.get("net_weights")  # the same tensors, sent as .npy one by one
    assert set(tensors) == set(state)
    assert all(np.array_equal(tensors[k], state[k]) for k in state)


@needs_torch
def test_state_dict_of_something_else(nb: Bridge) -> None:
    with pytest.raises(RemoteError) as info:
        nb.state_dict("answer")
    assert info.value.type == "AttributeError"


# ------------------------------------------------------------------ instruments
@needs_torch
def test_trace_lists_what_the_call_reads_without_making_it(nb: Bridge) -> None:
    X = np.arange(20.0).reshape(5, 4)
    traced = nb.trace("forward_small", X, prefer="small")
    assert np.array_equal(traced.result, nb.call("forward_small", X))
    reads = {r.name: r for r in traced.reads}
    assert {"small.0.weight", "small.0.bias", "small.1.weight", "small.1.bias"} <= set(reads)
    assert reads["small.0.weight"].shape == (3, 4) and reads["small.0.weight"].numel == 12
    assert reads["small.hidden_scale"].numel == 3 and not reads["small.hidden_scale"].bn_stat
    assert reads["small.1.running_mean"].bn_stat and reads["small.1.running_var"].bn_stat
    assert reads["extra"].numel == 9  # a numpy array made a tensor inside the call
    unnamed = sorted((r.shape, r.dtype) for r in traced.reads if not r.name)
    assert unnamed == [((3,), "float32"), ((5, 4), "float64")]  # the constant, the input


@needs_torch
def test_trace_digests_tell_constants_from_inputs(nb: Bridge) -> None:
    first = nb.trace("forward_small", np.zeros((5, 4))).reads
    second = nb.trace("forward_small", np.ones((5, 4))).reads
    same = {r.digest for r in first} & {r.digest for r in second}
    assert {r.name for r in first if r.digest in same} >= {"small.0.weight", "extra"}
    assert all(r.digest not in same for r in first if r.shape == (5, 4))


@needs_torch
def test_trace_digests_the_whole_storage_not_the_view(nb: Bridge) -> None:
    reads = [nb.trace("through_a_view", [0] * n).reads for n in (3, 5)]
    (first,), (second,) = reads
    assert (first.shape, second.shape) == ((6,), (12,))
    assert first.numel == second.numel == 12 and first.digest == second.digest


@needs_torch
def test_call_perturbed_shuffles_a_module_and_puts_it_back(nb: Bridge) -> None:
    X = np.random.default_rng(0).normal(size=(64, 4))
    before = nb.state_dict("small")
    plain = nb.call("forward_small", X)
    shuffled = nb.call_perturbed("forward_small", X, perturb="small", seed=1)
    assert len(set(plain)) > 1 and not np.array_equal(plain, shuffled)
    assert np.array_equal(nb.call_perturbed("ignores_small", X, perturb="small"), np.zeros(64))
    after = nb.state_dict("small")
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert np.array_equal(nb.call("forward_small", X), plain)


@pytest.mark.parametrize(
    "forged",
    [
        "not a mapping",
        {"name": "w", "shape": [3], "dtype": "float32", "numel": 3, "digest": "ab"},
        {"name": "w", "shape": "3x3", "dtype": "f", "numel": 9, "digest": "", "bn_stat": False},
        {"name": "w", "shape": [3], "dtype": "f", "numel": "many", "digest": "", "bn_stat": 0},
    ],
)
def test_a_malformed_traced_read_is_rejected(forged: object) -> None:
    with pytest.raises(PayloadRejected):
        TensorRead.parse(forged)


@needs_torch
def test_call_perturbed_of_a_missing_module(nb: Bridge) -> None:
    with pytest.raises(MissingName):
        nb.call_perturbed("ignores_small", [1], perturb="no_such_model")


# ------------------------------------------------------------------ a kernel that dies
def test_dead_kernel_is_reported_quickly(tmp_path: Path) -> None:
    cells = ["import os\ndef die():\n    os._exit(1)\n"]
    with (
        start_kernel(tmp_path, cells, set()) as ex,
        Bridge(ex.kernel.manager, timeout=120) as bridge,
    ):
        started = time.monotonic()
        with pytest.raises(BridgeError) as info:
            bridge.call("die")
        assert type(info.value) is BridgeError
        assert time.monotonic() - started < 15  # not the 120 s time limit


# ------------------------------------------------------------------ how calls travel
def test_calls_travel_on_a_comm_not_as_cells(nb: Bridge) -> None:
    """No execute request around a call: IPython's run_cell (and its hooks, ~2 ms of the kernel's
    CPU each) is not on the stack."""
    assert nb.call("in_run_cell") is False


BREAK_COMMS = """
manager = get_ipython().kernel.comm_manager
manager.register_target = lambda *args, **kwargs: None
"""


def test_a_notebook_that_breaks_comms_is_still_graded(tmp_path: Path) -> None:
    """The comm is not answered: calls fall back to execute requests, and still work."""
    cells = [CELLS[1], BREAK_COMMS]
    with start_kernel(tmp_path, cells, set()) as ex, Bridge(ex.kernel.manager) as bridge:
        assert bridge.call("add", 2, b=3) == 5
        assert bridge.call("in_run_cell") is True
