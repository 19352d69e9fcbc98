"""Host half of the bridge codec: values cross the boundary only as data.

Decoding never unpickles: JSON with tags, ``.npy`` read with ``allow_pickle=False`` after its
header is checked, and safetensors. Sizes, depth and element counts are bounded, so a forged
payload costs at most a refused value.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.core.errors import PayloadRejected


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 256 * 1024 * 1024
    max_depth: int = 64
    max_items: int = 1_000_000


@dataclass(frozen=True)
class HandleRef:
    """A reference to an object that stays in the kernel."""

    id: int
    type: str


def encode(value: Any) -> Any:
    """Host value → tagged JSON-ready data (the kernel decodes it)."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"__map__": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _npy_bytes(value)}
    if isinstance(value, np.generic):
        return encode(value.item())
    if isinstance(value, HandleRef):
        return {"__handle__": value.id}
    ref = getattr(value, "ref", None)
    if isinstance(ref, HandleRef):
        return {"__handle__": ref.id}
    raise TypeError(f"cannot send {type(value).__name__} to the kernel")


def _npy_bytes(array: np.ndarray) -> str:
    if array.dtype.hasobject:
        raise TypeError("object arrays cannot be sent to the kernel")
    buf = io.BytesIO()
    np.save(buf, np.asarray(array, order="C"), allow_pickle=False)  # keeps 0-d
    return base64.b64encode(buf.getvalue()).decode("ascii")


def parse(payload: str, limits: Limits = Limits()) -> Any:
    """Parse a reply string from the kernel, bounded in size and nesting."""
    if len(payload) > limits.max_bytes:
        raise PayloadRejected(f"{len(payload)} bytes, more than {limits.max_bytes}")
    # json.loads makes ~150 bytes of objects per "[0,0]," and takes seconds per 10 MB of them:
    # count the separators first (cheap), so a flood of tiny items is refused before parsing.
    tokens = payload.count(",") + payload.count("[") + payload.count("{")
    if tokens > 2 * limits.max_items:
        raise PayloadRejected(f"more than {limits.max_items} elements")
    try:
        return json.loads(payload)
    except RecursionError:
        raise PayloadRejected("nested too deeply") from None
    except ValueError as exc:
        raise PayloadRejected(f"not JSON: {exc}") from None


class Decoder:
    """Turns parsed tagged JSON into host values (numpy arrays, tuples, dicts, handles)."""

    def __init__(self, limits: Limits = Limits()) -> None:
        self.limits = limits
        self.items = 0

    def decode(self, value: Any, depth: int = 0) -> Any:
        self.items += 1
        if depth > self.limits.max_depth:
            raise PayloadRejected(f"nested deeper than {self.limits.max_depth}")
        if self.items > self.limits.max_items:
            raise PayloadRejected(f"more than {self.limits.max_items} elements")
        if isinstance(value, list):
            return [self.decode(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return self._tag(value, depth)
        if value is None or isinstance(value, bool | int | float | str):
            return value
        raise PayloadRejected(f"unexpected {type(value).__name__}")

    def _tag(self, value: dict[str, Any], depth: int) -> Any:
        if "__map__" in value:
            return self._map(value["__map__"], depth)
        if "__tuple__" in value:
            if not isinstance(value["__tuple__"], list):
                raise PayloadRejected("malformed tuple")
            return tuple(self.decode(value["__tuple__"], depth + 1))
        if "__ndarray__" in value:
            return load_npy(_b64(value["__ndarray__"]), self.limits)
        if "__safetensors__" in value:
            return load_safetensors(_b64(value["__safetensors__"]))
        if "__float__" in value:
            return _float(value["__float__"])
        if "__handle__" in value:
            return _handle(value)
        raise PayloadRejected(f"unknown tag {sorted(value)[:3]}")

    def _map(self, pairs: Any, depth: int) -> dict[Any, Any]:
        if not isinstance(pairs, list):
            raise PayloadRejected("malformed map")
        out: dict[Any, Any] = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise PayloadRejected("malformed map entry")
            key = self.decode(pair[0], depth + 1)
            if not isinstance(key, str | int | float | bool | tuple) and key is not None:
                raise PayloadRejected("unhashable map key")
            try:
                hash(key)
            except TypeError:  # a tuple holding a list
                raise PayloadRejected("unhashable map key") from None
            out[key] = self.decode(pair[1], depth + 1)
        return out


def _handle(value: dict[str, Any]) -> HandleRef:
    ref = value["__handle__"]
    if not isinstance(ref, int) or isinstance(ref, bool):
        raise PayloadRejected("malformed handle")
    return HandleRef(ref, str(value.get("type", "")))


def _b64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise PayloadRejected("binary field is not a string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PayloadRejected("binary field is not base64") from None


def _float(text: Any) -> float:
    if text not in ("nan", "inf", "-inf") and not isinstance(text, str):
        raise PayloadRejected("malformed float")
    try:
        return float(text)
    except ValueError:
        raise PayloadRejected("malformed float") from None


def load_npy(raw: bytes, limits: Limits = Limits()) -> np.ndarray:
    """Load ``.npy`` bytes without pickle, checking the header against the data first."""
    buf = io.BytesIO(raw)
    fmt = np.lib.format
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    try:
        reader = readers.get(fmt.read_magic(buf))
        if reader is None:
            raise ValueError("unsupported .npy version")
        shape, _fortran, dtype = reader(buf)
    except (ValueError, SyntaxError, OSError, TypeError) as exc:
        raise PayloadRejected(f"malformed array: {exc}") from None
    if dtype.hasobject:
        raise PayloadRejected("object arrays are refused (they would need pickle)")
    if any(dim < 0 for dim in shape):
        raise PayloadRejected(f"array header has a negative dimension: {shape}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes != len(raw) - buf.tell() or nbytes > limits.max_bytes:
        have = len(raw) - buf.tell()
        raise PayloadRejected(f"array header claims {nbytes} bytes, data has {have}")
    buf.seek(0)
    array: np.ndarray = np.load(buf, allow_pickle=False)
    return array


def load_safetensors(raw: bytes) -> dict[str, np.ndarray]:
    """Load a safetensors blob (a safe format: JSON header + raw buffers)."""
    from safetensors.numpy import load

    try:
        return dict(load(raw))
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise PayloadRejected(f"malformed safetensors: {exc}") from None
