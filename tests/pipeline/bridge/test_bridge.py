"""The bridge against a live kernel: calls, handles, aliases, errors, time limits, weights.

One kernel (LocalSandbox) runs the notebook below once and serves every test in this module;
only the dead-kernel test starts its own."""

from __future__ import annotations

import json
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
from grader.pipeline.bridge.api import MAX_QUEUED, Calls
from grader.pipeline.bridge.codec import Limits
from grader.pipeline.execute import Execution, preamble, run_notebook
from grader.sandbox.base import KernelRequest
from grader.sandbox.local import LocalSandbox

SEED = 3
ALIASES = {
    "Counter": ["Tally"],
    "Model.train": ["fit"],
    "Model.evaluate": ["score"],
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


from numpy.random import RandomState, default_rng  # bound before the grader seeds


def draws():
    return [
        float(np.random.rand()),
        float(np.random.default_rng().random()),
        float(default_rng().random()),
        float(RandomState().rand()),
        float(np.random.Generator(np.random.PCG64()).random()),
    ]
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


def test_missing_attribute_lists_what_the_object_has(nb: Bridge) -> None:
    model = nb.new("Model")
    with pytest.raises(MissingName) as info:
        model.get("seen_")
    assert {"lr", "n_iter", "seen", "fit", "predict"} <= set(info.value.defined)
    assert "add" not in info.value.defined  # the notebook's names are not the object's
    assert info.value.near == ["seen"]
    assert "Model has no attribute or method 'seen_'" in str(info.value)
    with pytest.raises(MissingName) as info:
        model.train_all([1])
    assert info.value.tried == ["train_all"]


def test_missing_method_names_the_aliases_tried(nb: Bridge) -> None:
    with pytest.raises(MissingName) as info:
        nb.new("Model").evaluate([1])  # neither evaluate nor its alias score
    assert info.value.tried == ["evaluate", "score"]
    assert "(nor 'score')" in str(info.value)


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


# ------------------------------------------------------------------ looking inside objects
def test_arrays_finds_weights_wherever_they_are(nb: Bridge) -> None:
    found = nb.new("Net").arrays(max_elements=1000)
    # breadth first: an array reachable twice is listed once, by its shortest path
    assert list(found) == ["first", "b_out", "params['b1']", "layers[1].W"]
    assert found["first"].shape == (2, 3) and found["b_out"].shape == ()
    assert "big" in nb.new("Net").arrays(max_elements=10_000)
    assert list(nb.new("Net").arrays(shapes=[(3,), ()])) == ["b_out", "params['b1']"]
    assert list(nb.new("Net").arrays(names=["layers[1].W", "nosuch"])) == ["layers[1].W"]


def test_arrays_stays_bounded_on_a_crowded_object(nb: Bridge) -> None:
    crowd = nb.new("Crowd")
    started = time.monotonic()
    found = crowd.arrays(max_items=10)
    assert len(found) == 10 and time.monotonic() - started < 10
    assert list(crowd.arrays(shapes=[(2, 2)])) == ["weights"]  # found past the crowd


def test_put_writes_in_place(nb: Bridge) -> None:
    net = nb.new("Net")
    X = np.ones((1, 2))
    assert net.predict(X).tolist() == [0.5]
    net.put("layers[1].W", np.ones((3, 1)))
    net.put("b_out", 1.0)
    assert net.predict(X).tolist() == [7.0]
    net.put("first", np.zeros((2, 3)))  # in place: layers[0].W sees it too
    assert net.predict(X).tolist() == [1.0]
    net.put("params['b1']", np.full(3, 2.0))
    assert net.predict(X).tolist() == [7.0]


def test_seed_repeats_global_and_unseeded_generators(nb: Bridge) -> None:
    nb.seed(5)
    first = nb.call("draws")
    nb.seed(5)
    assert nb.call("draws") == first
    nb.seed(6)
    assert all(a != b for a, b in zip(nb.call("draws"), first, strict=True))


def test_call_counts_and_time(nb: Bridge) -> None:
    net = nb.new("Net")
    X = np.ones((4, 2))
    counts = net.call_counts("fit", X, steps=5)
    by_name = {key.split("@")[0]: n for key, n in counts.items()}
    assert by_name["fit"] == 1 and by_name["predict"] == 5
    assert not any("numpy" in key for key in counts)  # library code is not counted
    seconds = net.timed("fit", X, steps=3)
    assert 0 < seconds < 5


# ------------------------------------------------------------------ commands ride along
@contextmanager
def counted(bridge: Bridge) -> Iterator[list[str]]:
    """The labels of the messages ``bridge`` sends in the block."""
    sent: list[str] = []
    transport = bridge._transport

    def counting(req: dict[str, object], label: str) -> str | None:
        sent.append(label)
        return transport(req, label)

    bridge._transport = counting  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        del bridge._transport


def test_put_and_seed_travel_with_the_next_request(nb: Bridge) -> None:
    net = nb.new("Net")
    X = np.ones((1, 2))
    with counted(nb) as sent:
        net.put("layers[1].W", np.ones((3, 1)))
        net.put("b_out", 1.0)
        nb.seed(5)
        assert sent == []
        assert net.predict(X).tolist() == [7.0]  # both writes ran first, in order
        assert sent == ["Net.predict()"]
        draws = nb.call("draws")
        nb.seed(5)
        assert nb.call("draws") == draws  # the seed ran first
        nb.seed(5)
        nb.flush()
        assert len(sent) == 4
        assert nb.call("draws") == draws
        assert nb.call("draws") != draws  # seeded once, not before every request
    assert len(sent) == 6


def test_a_failed_command_raises_at_the_next_request_which_does_not_run(nb: Bridge) -> None:
    net = nb.new("Net")
    tally = nb.new("Tally")
    net.put("nosuch", 1.0)  # nothing sent yet, so nothing raised
    net.put("b_out", 9.0)
    with pytest.raises(RemoteError) as info:
        tally.add(1)
    assert (info.value.type, info.value.target) == ("KeyError", "Net.nosuch = ...")
    assert tally.get("total") == 0  # add did not run, nor the commands after the failed one
    assert net.get("b_out") == 0.5
    net.put("nosuch", 1.0)
    with pytest.raises(RemoteError):
        nb.flush()
    nb.flush()  # an empty queue sends nothing


def test_a_long_queue_is_sent_before_it_grows_large(nb: Bridge) -> None:
    net = nb.new("Net")
    with counted(nb) as sent:
        for _ in range(MAX_QUEUED):
            net.put("b_out", 2.0)
    assert len(sent) == 1
    assert net.get("b_out") == 2.0


class Forged(Calls):
    """Replies as a hostile kernel might write them."""

    def __init__(self, reply: dict[str, object]) -> None:
        self.limits = Limits()
        self.reply = reply

    def _transport(self, req: dict[str, object], label: str) -> str | None:
        return json.dumps({**self.reply, "nonce": req["nonce"]})


@pytest.mark.parametrize(
    "reply",
    [
        {"ok": 1, "failed": 0},  # a failure without its error
        {"error": {"type": "KeyError", "message": ""}, "failed": 1},  # only one was queued
        {"error": {"type": "KeyError", "message": ""}, "failed": True},
        {"error": {"type": "KeyError", "message": ""}, "failed": "0"},
    ],
    ids=repr,
)
def test_a_forged_failure_index_is_rejected(reply: dict[str, object]) -> None:
    calls = Forged(reply)
    calls.seed(1)
    with pytest.raises(PayloadRejected):
        calls.names()


def test_a_failure_index_names_the_queued_command() -> None:
    calls = Forged({"error": {"type": "KeyError", "message": "x"}, "failed": 1})
    calls.seed(1)
    calls.seed(2)
    with pytest.raises(RemoteError) as info:
        calls.names()
    assert info.value.target == "seed"


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
