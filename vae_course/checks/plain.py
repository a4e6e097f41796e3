"""Plain data across the boundary between a student's kernel and the grader.

What a student's function returns is turned into plain data here: tensors (detached,
cloned to the CPU), numbers, strings, None, lists, tuples, dicts and NumPy arrays. Any
other object (a model, a distribution) becomes a :class:`Ref`, a handle that a checker
can only pass back to ``call``. Records are written with ``torch.save`` and read
with ``torch.load(weights_only=True)``, so reading one never runs code.
"""

from __future__ import annotations

import functools
import hashlib
import io
import keyword
import warnings
from collections import namedtuple

import numpy as np
import torch

MAX_ELEMENTS = 4_000_000  # a larger tensor is recorded as a handle, not as numbers
MAX_DEPTH = 12
MAX_ITEMS = 10_000  # items of one list, tuple or dict
_PRIMITIVE = (type(None), bool, int, float, str)


class RecordError(Exception):
    """A record is malformed: it was not written by this module's :func:`to_bytes`."""


class RefUseError(AttributeError):
    """A checker used a student's object directly instead of through ``call``."""


class Ref:
    """A student's object that is not plain data: pass it to ``call``, nothing else."""

    def __init__(self, key: int, type_name: str, is_callable: bool):
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_type_name", type_name)
        object.__setattr__(self, "_callable", is_callable)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise RefUseError(f"the student's {self._type_name} reaches a checker only through "
                          f"call: write call(lambda obj: obj.{name}, it) instead of using it "
                          f"directly.")

    def __call__(self, *args, **kwargs):
        raise TypeError(f"the student's {self._type_name} reaches a checker only through "
                        f"call: write call(it, ...) instead of calling it directly.")

    def __repr__(self) -> str:
        return f"<the student's {self._type_name}>"


def ref_key(ref: Ref) -> int:
    """Which object a handle stands for: a student's object (negative) or a returned one."""
    return object.__getattribute__(ref, "_key")


@functools.lru_cache(maxsize=256)
def ref_class(type_name: str) -> type:
    """A subclass of :class:`Ref` named like the student's type, so hints can name it."""
    name = type_name if type_name.isidentifier() and not keyword.iskeyword(type_name) else "Object"
    return type(name, (Ref,), {"__module__": "student"})


def make_ref(key: int, type_name: str, is_callable: bool) -> Ref:
    return ref_class(type_name)(key, type_name, is_callable)


@functools.lru_cache(maxsize=64)
def _namedtuple(name: str, fields: tuple[str, ...]) -> type:
    return namedtuple(name, fields)


def _plain_tensor(t: torch.Tensor) -> torch.Tensor:
    t = t.detach()
    if type(t) is not torch.Tensor:
        t = t.as_subclass(torch.Tensor)
    if t.is_sparse:
        t = t.to_dense()
    return t.cpu().clone()


def encode(value, live: list | None = None, depth: int = 0):
    """``value`` as a tagged structure of primitives and plain CPU tensors.

    Objects that are not plain data are appended to ``live`` (when given) and encoded as
    their index there, so that a later call can hand them back to the student's code.
    """
    if depth > MAX_DEPTH:
        return _ref(value, live)
    if isinstance(value, _PRIMITIVE):
        return ("v", value)
    if isinstance(value, torch.Tensor):
        try:
            if value.numel() > MAX_ELEMENTS:
                return _ref(value, live, f"Tensor{tuple(value.shape)}")
            return ("t", _plain_tensor(value), bool(value.requires_grad), str(value.device))
        except Exception:  # a meta tensor, a broken subclass
            return _ref(value, live)
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" \
            and value.size <= MAX_ELEMENTS:
        return ("n", torch.from_numpy(np.ascontiguousarray(value)).clone())
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return ("ns", torch.from_numpy(np.asarray(value).reshape(1)).clone())
    if isinstance(value, torch.Size):
        return ("size", tuple(int(n) for n in value))
    if isinstance(value, torch.dtype):
        return ("dtype", str(value))
    if isinstance(value, (list, tuple)) and len(value) <= MAX_ITEMS:
        items = [encode(v, live, depth + 1) for v in value]
        if isinstance(value, list):
            return ("l", items)
        fields = getattr(type(value), "_fields", None)
        if isinstance(fields, tuple) and all(isinstance(f, str) for f in fields):
            return ("nt", type(value).__name__, tuple(fields), items)
        return ("u", items)
    if isinstance(value, dict) and len(value) <= MAX_ITEMS:
        return ("d", [(encode(k, live, depth + 1), encode(v, live, depth + 1))
                      for k, v in value.items()])
    return _ref(value, live)


def _ref(value, live: list | None, type_name: str | None = None):
    key = -1
    if live is not None:
        live.append(value)
        key = len(live) - 1
    return ("r", key, type_name or type(value).__name__, callable(value))


def decode(enc):
    """The value :func:`encode` recorded; raises :class:`RecordError` on anything else."""
    try:
        tag = enc[0]
        if tag == "v" and len(enc) == 2 and isinstance(enc[1], _PRIMITIVE):
            return enc[1]
        if tag == "t" and len(enc) == 4 and isinstance(enc[1], torch.Tensor):
            t = enc[1].detach()
            if enc[2] and (t.is_floating_point() or t.is_complex()):
                t.requires_grad_(True)
            return t
        if tag == "n" and isinstance(enc[1], torch.Tensor):
            return enc[1].numpy()
        if tag == "ns" and isinstance(enc[1], torch.Tensor):
            return enc[1].numpy()[0]
        if tag == "size":
            return torch.Size([int(n) for n in enc[1]])
        if tag == "dtype":
            dtype = getattr(torch, str(enc[1]).removeprefix("torch."), None)
            if not isinstance(dtype, torch.dtype):
                raise RecordError(f"unknown dtype {enc[1]!r}")
            return dtype
        if tag == "l":
            return [decode(v) for v in enc[1]]
        if tag == "u":
            return tuple(decode(v) for v in enc[1])
        if tag == "nt":
            items = tuple(decode(v) for v in enc[3])
            name, fields = str(enc[1]), tuple(str(f) for f in enc[2])
            try:
                return _namedtuple(name, fields)(*items)
            except (TypeError, ValueError):  # odd names: a plain tuple carries the values
                return items
        if tag == "d":
            return {decode(k): decode(v) for k, v in enc[1]}
        if tag == "r" and len(enc) == 4:
            return make_ref(int(enc[1]), str(enc[2]), bool(enc[3]))
    except RecordError:
        raise
    except Exception as exc:
        raise RecordError(f"malformed value ({type(exc).__name__}: {exc})") from None
    raise RecordError(f"malformed value with tag {str(enc[0])[:20]!r}")


def describe(value) -> str:
    """The type of a value as a student would name it (handles name the student's type)."""
    if isinstance(value, Ref):
        return value._type_name
    return type(value).__name__


# ---------------------------------------------------------------- digests of inputs

def _feed(h, value, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        h.update(b"deep;")
        return
    if isinstance(value, Ref):
        h.update(f"ref:{value._key};".encode())
    elif isinstance(value, _PRIMITIVE):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}{value.requires_grad};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, torch.Generator):
        h.update(f"G{value.device}{value.initial_seed()};".encode())
        h.update(value.get_state().numpy().tobytes())
    elif isinstance(value, torch.nn.Module):
        h.update(f"M{type(value).__qualname__}{value!r};".encode())
        for name, tensor in value.state_dict().items():
            h.update(name.encode())
            _feed(h, tensor, depth + 1)
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}[{len(value)}".encode())
        for v in value:
            _feed(h, v, depth + 1)
        h.update(b"]")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}".encode())
        for k, v in value.items():
            _feed(h, k, depth + 1)
            _feed(h, v, depth + 1)
        h.update(b"]")
    elif callable(value):
        h.update(f"F{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')};"
                 .encode())
    else:
        h.update(f"O{type(value).__qualname__};".encode())


def digest(*values) -> str:
    """A fingerprint of a call's inputs, equal in the kernel and in the grader."""
    h = hashlib.sha256()
    for value in values:
        _feed(h, value)
    return h.hexdigest()


# ---------------------------------------------------------------- bytes

def to_bytes(record) -> bytes:
    buffer = io.BytesIO()
    torch.save(record, buffer)
    return buffer.getvalue()


def from_bytes(data: bytes):
    """Read a record with ``weights_only=True``: plain data only, never code."""
    try:
        with warnings.catch_warnings():  # a forged record may use another pickle protocol
            warnings.simplefilter("ignore")
            return torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:
        raise RecordError(f"unreadable record ({type(exc).__name__}: {exc})") from None
