"""What tests call on the notebook, whatever carries the calls: :class:`Calls` builds each
request and checks each reply (``nb.call``, ``nb.new``, handles of kernel objects); a subclass
says how a request reaches the kernel half (``kernel_side.py``) and its reply comes back.

:class:`grader.pipeline.bridge.client.Bridge` carries them over the kernel's messages; the
benchmarks' in-kernel shim (``benchmarks/kernel_shim``) calls the kernel half directly, so the
same test code runs inside the kernel for nbgrader and Otter. Only the standard library, numpy,
the codec and the grader's errors are imported here (the shim loads this file by path).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from grader.core.errors import BridgeError, MissingName, PayloadRejected, RemoteError
from grader.pipeline.bridge.codec import Decoder, HandleRef, Limits, encode, parse

MAX_TRACED_READS = 5000
"""The kernel half stops a traced call past this many distinct tensors; a reply with more is
forged."""
MAX_QUEUED = 64
"""Commands queued past this many are sent at once (a request stays small)."""


class Calls:
    """Calls into the notebook; every reply is parsed as data under ``limits``.

    Commands that return nothing (:meth:`seed`, :meth:`Handle.put`) are queued and travel with
    the next request, which the kernel half runs after them, in order: a round trip costs the
    kernel ~2.6 ms of CPU in message handling alone, and gd_backprop's tests send ~190 such
    commands a submission. A queued command that fails raises at that next request (naming the
    command, which stopped the rest); :meth:`flush` sends the queue at once."""

    limits: Limits
    _queued: list[tuple[dict[str, Any], str]]

    def _transport(self, req: dict[str, Any], label: str) -> str | None:
        """Deliver ``req`` to the kernel half; the reply's JSON text (None: no reply)."""
        raise NotImplementedError

    def names(self) -> list[str]:
        """Top-level names the notebook defines (functions, classes, variables)."""
        return list(self._request({"op": "names"}, "names"))

    def has(self, name: str) -> bool:
        return bool(self._request({"op": "has", "name": name}, name))

    def get(self, name: str) -> Any:
        """The value of a top-level name, as data (objects come back as handles)."""
        return self._request({"op": "get", "name": name}, name)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call a top-level function; arguments and result cross as data."""
        req = {"op": "call", "name": name, "qual": name, **_args(args, kwargs)}
        return self._request(req, f"{name}()")

    def new(self, name: str, *args: Any, **kwargs: Any) -> Handle:
        """Create an instance of a notebook class; it stays in the kernel."""
        req = {"op": "new", "name": name, "qual": name, **_args(args, kwargs)}
        ref = self._request(req, f"{name}()", owner=name)
        if not isinstance(ref, Handle):
            raise PayloadRejected("constructor did not return an object handle")
        return ref

    def trace(self, name: str, *args: Any, prefer: str = "", **kwargs: Any) -> Traced:
        """Call a top-level function recording the torch tensors it reads that the call did not
        make (weights, buffers, constants, tensors built from its input); ``prefer``: the
        notebook name to call those tensors by first (``model`` → ``model.conv1.weight``)."""
        req = {"op": "trace", "name": name, "qual": name, "prefer": prefer, **_args(args, kwargs)}
        value = self._request(req, f"{name}() traced")
        if not isinstance(value, dict) or not isinstance(value.get("reads"), list):
            raise PayloadRejected("trace did not return a result and its reads")
        if len(value["reads"]) > MAX_TRACED_READS:
            raise PayloadRejected(f"trace listed more than {MAX_TRACED_READS} tensors")
        return Traced(value.get("result"), [TensorRead.parse(r) for r in value["reads"]])

    def call_perturbed(
        self, name: str, *args: Any, perturb: str, seed: int = 0, **kwargs: Any
    ) -> Any:
        """Call a top-level function while every floating parameter and buffer of the module
        ``perturb`` is shuffled (put back afterwards): does the function depend on it?"""
        req = {"op": "perturbed", "name": name, "qual": name, "target": perturb, "seed": seed}
        return self._request({**req, **_args(args, kwargs)}, f"{name}() with {perturb} shuffled")

    def state_dict(self, name: str) -> dict[str, Any]:
        """``name.state_dict()`` of a torch module, as numpy arrays (safetensors)."""
        value = self._request({"op": "state_dict", "name": name}, f"{name}.state_dict()")
        return _as_arrays(value)

    def seed(self, value: int) -> None:
        """Seed the kernel's ``random`` and numpy's global generator; ``np.random.default_rng()``
        without a seed then repeats too, so a test can build the same model twice. Queued:
        it runs right before the next request."""
        self._queue({"op": "seed", "seed": int(value)}, "seed")

    def flush(self) -> None:
        """Run the queued commands now; the first that fails raises here."""
        if self.__dict__.get("_queued"):
            req, label = self._queued.pop()
            self._request(req, label)

    def _queue(self, req: dict[str, Any], label: str) -> None:
        queued = self.__dict__.setdefault("_queued", [])
        queued.append((req, label))
        if len(queued) >= MAX_QUEUED:
            self.flush()

    def _request(self, req: dict[str, Any], label: str, owner: str = "") -> Any:
        queued: list[tuple[dict[str, Any], str]] = self.__dict__.pop("_queued", [])
        if queued:
            req["first"] = [command for command, _ in queued]
        req["nonce"] = nonce = secrets.token_hex(8)
        reply = parse(self._transport(req, label) or "", self.limits)
        if not isinstance(reply, dict) or reply.get("nonce") != nonce:
            raise PayloadRejected("reply does not match the request")
        if "failed" in reply:  # a queued command raised: the request itself did not run
            if "missing" not in reply and "error" not in reply:
                raise PayloadRejected("reply says a queued command failed, without its error")
            label = _failed_label(reply["failed"], queued)
        if "missing" in reply:
            raise MissingName(
                str(reply["missing"]),
                defined=_str_list(reply.get("names")),
                tried=_str_list(reply.get("tried")),
                on_object=reply.get("object") is True,
            )
        if "error" in reply:
            err = reply["error"] if isinstance(reply["error"], dict) else {}
            raise RemoteError(
                str(err.get("message", ""))[:2000], type=str(err.get("type", "?")), target=label
            )
        return self._wrap(Decoder(self.limits).decode(reply.get("ok")), owner)

    def _wrap(self, value: Any, owner: str) -> Any:
        if isinstance(value, HandleRef):
            return Handle(self, value, owner or value.type)
        if isinstance(value, list):
            return [self._wrap(v, "") for v in value]
        if isinstance(value, tuple):
            return tuple(self._wrap(v, "") for v in value)
        if isinstance(value, dict):
            return {k: self._wrap(v, "") for k, v in value.items()}
        return value


@dataclass(frozen=True)
class TensorRead:
    """A tensor a traced call read without making it (one per storage)."""

    name: str
    """The notebook's name for it (``model.fc.weight``, ``W``), or "" when it has none."""
    shape: tuple[int, ...]
    dtype: str
    numel: int
    """Elements in its storage (a view's whole base counts)."""
    digest: str
    """Content hash of the whole storage: equal in two calls → the same constant."""
    bn_stat: bool
    """Only ever read as batch-norm running statistics."""

    @classmethod
    def parse(cls, value: Any) -> TensorRead:
        if not isinstance(value, dict):
            raise PayloadRejected("a traced read is not a mapping")
        try:
            shape = tuple(int(n) for n in value["shape"])
            return cls(
                str(value["name"])[:200],
                shape,
                str(value["dtype"])[:40],
                int(value["numel"]),
                str(value["digest"])[:64],
                bool(value["bn_stat"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PayloadRejected(f"malformed traced read: {exc}") from None


@dataclass(frozen=True)
class Traced:
    """What a traced call returned, and the tensors it read."""

    result: Any
    reads: list[TensorRead]


class Handle:
    """An object living in the kernel: ``h.method(...)``, ``h.get("attr")``."""

    def __init__(self, bridge: Calls, ref: HandleRef, owner: str) -> None:
        self.ref = ref
        self._bridge = bridge
        self._owner = owner

    def __repr__(self) -> str:
        return f"<kernel object {self.ref.type} #{self.ref.id}>"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        qual = f"{self._owner}.{method}"
        req = {**self._base("call", method), "qual": qual, **_args(args, kwargs)}
        return self._bridge._request(req, f"{self._owner}.{method}()")

    def get(self, attr: str) -> Any:
        return self._bridge._request(self._base("get", attr), f"{self._owner}.{attr}")

    def state_dict(self) -> dict[str, Any]:
        req = {"op": "state_dict", "handle": self.ref.id}
        return _as_arrays(self._bridge._request(req, f"{self._owner}.state_dict()"))

    def arrays(
        self,
        *,
        max_items: int = 256,
        max_elements: int = 1_000_000,
        shapes: list[tuple[int, ...]] | None = None,
        names: list[str] | None = None,
    ) -> dict[str, Any]:
        """The float arrays and numbers the object holds, by path (``coefs_[0]``,
        ``layers[1].W``, ``params['W1']``): found in attributes, lists, tuples, dicts and the
        notebook's own objects, 4 levels deep, breadth first; an array reachable twice is listed
        once. Only those of at most ``max_elements`` elements, of one of ``shapes`` and named in
        ``names`` (when given), at most ``max_items``."""
        req: dict[str, Any] = {"op": "arrays", "handle": self.ref.id, "max_items": max_items}
        req["max_elements"] = max_elements
        if shapes is not None:
            req["shapes"] = [list(s) for s in shapes]
        if names is not None:
            req["names"] = list(names)
        pairs = self._bridge._request(req, f"{self._owner} arrays")
        if not isinstance(pairs, list) or not all(_is_named_array(p) for p in pairs):
            raise PayloadRejected("arrays did not return (name, array) pairs")
        return {str(name): value for name, value in pairs}

    def put(self, name: str, value: Any) -> None:
        """Write ``value`` into the array (in place) or number ``name`` listed by :meth:`arrays`.
        Queued: it runs right before the next request, which raises if it failed."""
        req = {"op": "put", "handle": self.ref.id, "path": name, "value": encode(value)}
        self._bridge._queue(req, f"{self._owner}.{name} = ...")

    def timed(self, method: str, *args: Any, **kwargs: Any) -> float:
        """Seconds ``method(*args, **kwargs)`` ran inside the kernel (its result is dropped)."""
        return float(self._profile(method, args, kwargs, count=False)["seconds"])

    def call_counts(self, method: str, *args: Any, **kwargs: Any) -> dict[str, int]:
        """How often each function of the notebook ran during ``method(*args, **kwargs)``, by
        ``name@file:line`` (library code is not counted)."""
        calls = self._profile(method, args, kwargs, count=True).get("calls")
        if not isinstance(calls, dict):
            raise PayloadRejected("call counts are not a mapping")
        return {str(k): int(v) for k, v in calls.items() if isinstance(v, int)}

    def _profile(
        self, method: str, args: tuple[Any, ...], kwargs: dict[str, Any], *, count: bool
    ) -> dict[str, Any]:
        qual = f"{self._owner}.{method}"
        req = {**self._base("profile", method), "qual": qual, "count": count}
        value = self._bridge._request({**req, **_args(args, kwargs)}, f"{qual}()")
        if not isinstance(value, dict) or not isinstance(value.get("seconds"), int | float):
            raise PayloadRejected("profile did not return its cost")
        return value

    def _base(self, op: str, attr: str) -> dict[str, Any]:
        return {"op": op, "handle": self.ref.id, "owner": self._owner, "attr": attr}


def _args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"args": encode(list(args)), "kwargs": encode(dict(kwargs))}
    except TypeError as exc:
        raise BridgeError(str(exc)) from None


def _is_named_array(pair: Any) -> bool:
    import numpy as np

    return isinstance(pair, list) and len(pair) == 2 and isinstance(pair[1], np.ndarray)


def _failed_label(index: Any, queued: list[tuple[dict[str, Any], str]]) -> str:
    """The label of the queued command a reply says failed (then the request itself never ran)."""
    if type(index) is not int or not 0 <= index < len(queued):
        raise PayloadRejected("reply names a queued command that was not sent")
    return queued[index][1]


def _str_list(value: Any) -> list[str]:
    return [str(v) for v in value[:200]] if isinstance(value, list) else []


def _as_arrays(value: Any) -> dict[str, Any]:
    import numpy as np

    if not isinstance(value, dict) or not all(isinstance(v, np.ndarray) for v in value.values()):
        raise PayloadRejected("state_dict did not return a mapping of arrays")
    return {str(k): v for k, v in value.items()}
