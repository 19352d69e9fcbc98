"""The bridge codec: values cross as tagged JSON, .npy without pickle and safetensors; anything
malformed, too big or too deep is refused as PayloadRejected, never half-decoded.

Round trips go through the kernel half too (``grader.pipeline.bridge.kernel_side`` is plain
Python)."""

from __future__ import annotations

import base64
import io
import json
import math
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import save as save_safetensors

from grader.core.errors import PayloadRejected
from grader.pipeline.bridge import kernel_side
from grader.pipeline.bridge.codec import (
    Decoder,
    HandleRef,
    Limits,
    encode,
    load_npy,
    load_safetensors,
    parse,
)


def to_kernel(value: Any) -> Any:
    """Host value → what the kernel half decodes from the request."""
    return kernel_side.decode(json.loads(json.dumps(encode(value), allow_nan=False)))


DEFAULT = Limits()


def to_host(value: Any, limits: Limits = DEFAULT) -> Any:
    """Kernel value → what the host decodes from the reply."""
    payload = json.dumps({"ok": kernel_side.encode(value)}, allow_nan=False)
    return Decoder(limits).decode(parse(payload, limits)["ok"])


def round_trip(value: Any) -> Any:
    return to_host(to_kernel(value))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def npy(array: np.ndarray, **kw: Any) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, **kw)
    return buf.getvalue()


def rejected(value: Any, limits: Limits = DEFAULT) -> PayloadRejected:
    with pytest.raises(PayloadRejected) as info:
        Decoder(limits).decode(value)
    return info.value


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -7,
        2**62,
        1.5,
        -0.0,
        1e-300,
        "",
        "строка ✓",
        [1, "a", None],
        (1, [2, (3,)]),
        [],
        (),
        {"a": 1},
        {1: "one", (2, 3): [4], "s": None, 2.5: True, None: 0},
        {"nested": {"deep": [{"k": (1, 2)}]}},
    ],
    ids=repr,
)
def test_plain_values_round_trip_with_their_types(value: Any) -> None:
    back = round_trip(value)
    assert back == value
    assert repr(back) == repr(value)  # tuples stay tuples, lists stay lists, keys keep types


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats(value: float) -> None:
    back = round_trip(value)
    assert isinstance(back, float)
    assert (math.isnan(back) and math.isnan(value)) or back == value


def test_huge_int_from_the_kernel_becomes_a_float() -> None:
    assert to_host(2**70) == float(2**70)


ARRAYS = [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.arange(5, dtype=np.int64),
    np.array([True, False, True]),
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([1 + 2j, -3j]),
    np.array([0.5, np.nan, np.inf], dtype=np.float16),
    np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    np.arange(6.0).reshape(2, 3)[:, ::2],  # not contiguous
    np.array(3.5),
    np.array(7, dtype=np.int8),
    np.zeros((0, 3)),
    np.arange(4, dtype=">i4"),
    np.array([(1, 2.0), (3, 4.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
    np.array(["ab", "cde"]),
]


@pytest.mark.parametrize("array", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_arrays_round_trip(array: np.ndarray) -> None:
    back = round_trip(array)
    assert isinstance(back, np.ndarray)
    assert (back.dtype, back.shape) == (array.dtype, array.shape)
    if array.dtype.names:
        assert back.tolist() == array.tolist()
    else:
        assert np.array_equal(back, array, equal_nan=array.dtype.kind in "fc")


def test_numpy_scalars_become_python_numbers() -> None:
    assert repr(round_trip([np.float32(1.5), np.int64(3), np.bool_(True)])) == "[1.5, 3, True]"


def test_arrays_inside_containers() -> None:
    back = round_trip({"w": np.eye(2), "shape": (2, 2)})
    assert back["shape"] == (2, 2) and np.array_equal(back["w"], np.eye(2))


def test_kernel_objects_become_handles() -> None:
    class Model:
        pass

    obj = Model()
    back = to_host(obj)
    assert back == HandleRef(id(obj), "Model")
    assert to_kernel(back) is obj  # a handle sent back resolves to the same object


def test_host_refuses_to_send_what_is_not_data() -> None:
    with pytest.raises(TypeError):
        encode({1, 2})
    with pytest.raises(TypeError):
        encode(np.array([object()], dtype=object))
    with pytest.raises(TypeError):
        encode(lambda: 1)


# ------------------------------------------------------------------ safetensors
class FakeTensor:
    """Enough of a torch tensor for the kernel half (detach → cpu → numpy)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array
        self.dtype = f"torch.{array.dtype}"

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return self

    def numpy(self) -> np.ndarray:
        return self.array


class FakeModule:
    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state = state

    def state_dict(self) -> dict[str, Any]:
        return {k: FakeTensor(v) for k, v in self.state.items()} | {"step": 3}


def test_state_dict_round_trip_via_safetensors() -> None:
    state = {
        "fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fc.bias": np.zeros(2, dtype=np.float32),
        "bn.num_batches_tracked": np.array(4),
    }
    encoded = kernel_side._state_dict(FakeModule(state))
    assert set(encoded) == {"__safetensors__"}
    back = Decoder().decode(json.loads(json.dumps(encoded)))
    assert set(back) == set(state)  # non-tensor entries ('step') are left out
    for name, array in state.items():
        assert back[name].dtype == array.dtype and np.array_equal(back[name], array)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not safetensors at all",
        (10**9).to_bytes(8, "little") + b"{}",  # header length larger than the blob
        save_safetensors({"w": np.ones(4, dtype=np.float32)})[:-3],  # truncated data
        json.dumps({"__pickle__": 1}).encode(),
    ],
    ids=["empty", "garbage", "header-too-long", "truncated", "json"],
)
def test_malformed_safetensors_are_rejected(raw: bytes) -> None:
    with pytest.raises(PayloadRejected):
        load_safetensors(raw)
    rejected({"__safetensors__": b64(raw)})


# ------------------------------------------------------------------ refusals
def test_object_arrays_are_rejected_before_any_unpickling() -> None:
    raw = npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(PayloadRejected):
        load_npy(raw)
    rejected({"__ndarray__": b64(raw)})


def _with_header(header: dict[str, Any], data: bytes) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


@pytest.mark.parametrize(
    "raw",
    [
        npy(np.arange(10.0))[:-8],  # header claims more bytes than present
        npy(np.arange(10.0)) + b"\0" * 8,  # and fewer
        _with_header({"descr": "<f8", "fortran_order": False, "shape": (-1, -8)}, bytes(64)),
        _with_header({"descr": "<f8", "fortran_order": False, "shape": (-1,)}, bytes(8)),
        _with_header({"descr": "|O", "fortran_order": False, "shape": (1,)}, bytes(8)),
        b"\x93NUMPY\x09\x00" + bytes(16),  # unknown version
        b"not an npy file",
        b"",
    ],
    ids=[
        "short",
        "long",
        "negative-dims",
        "negative-dim",
        "object-descr",
        "version",
        "garbage",
        "empty",
    ],
)
def test_malformed_npy_is_rejected(raw: bytes) -> None:
    with pytest.raises(PayloadRejected):
        load_npy(raw)
    rejected({"__ndarray__": b64(raw)})


def test_array_over_the_size_limit_is_rejected() -> None:
    raw = npy(np.zeros(1000))
    assert load_npy(raw).shape == (1000,)
    with pytest.raises(PayloadRejected):
        load_npy(raw, Limits(max_bytes=4000))


@pytest.mark.parametrize(
    "value",
    [
        {"__ndarray__": "!!! not base64 !!!"},
        {"__ndarray__": 12},
        {"__safetensors__": ["a"]},
        {"__pickle__": b64(b"\x80\x04K\x01.")},
        {"__reduce__": ["os.system", ["echo"]]},
        {"plain": "dict"},
        {},
        {"__handle__": "abc"},
        {"__handle__": [1]},
        {"__tuple__": 5},
        {"__tuple__": {"__map__": []}},
        {"__map__": 5},
        {"__map__": [[1]]},
        {"__map__": [[{"__tuple__": [[1]]}, "list inside a key"]]},
        {"__map__": [[[1, 2], "list as key"]]},
        {"__float__": ["nan"]},
        {"__float__": "not a number"},
    ],
    ids=repr,
)
def test_malformed_tags_are_rejected(value: Any) -> None:
    rejected(value)
    rejected([1, {"__map__": [["k", value]]}])  # also when nested


def test_depth_limit() -> None:
    def nested(depth: int) -> Any:
        value: Any = 0
        for _ in range(depth):
            value = [value]
        return value

    limits = Limits(max_depth=20)
    assert Decoder(limits).decode(nested(20)) == nested(20)
    assert rejected(nested(21), limits).reason
    assert rejected({"__tuple__": nested(25)}, limits).reason


def test_json_nesting_beyond_the_recursion_limit_is_rejected() -> None:
    with pytest.raises(PayloadRejected):
        parse("[" * 200_000 + "]" * 200_000)


def test_item_limit() -> None:
    limits = Limits(max_items=10)
    assert Decoder(limits).decode(list(range(8))) == list(range(8))
    rejected(list(range(20)), limits)
    rejected({"__map__": [[i, i] for i in range(6)]}, limits)


def test_payload_size_limit() -> None:
    payload = json.dumps({"ok": "x" * 100})
    assert parse(payload)["ok"] == "x" * 100
    with pytest.raises(PayloadRejected):
        parse(payload, Limits(max_bytes=50))


@pytest.mark.parametrize("payload", ["", "{not json", "NaN-ish", "\x00"])
def test_non_json_is_rejected(payload: str) -> None:
    with pytest.raises(PayloadRejected):
        parse(payload)
