"""trackgate: decide which analytics events may leave, with signed plan delivery.

Everything from the UniFFI-generated module is re-exported unchanged (`Gate`, `GateOptions`,
`Decision`, `DropReason`, `GateError`, ...); it is the same API the Kotlin and Swift bindings
have. This layer adds only what Python needs on top: `decide_many` and `decide_ids_many`, batch
calls that pack their arguments into bytes with C-level `array` code before crossing, because
UniFFI's generated Python encodes list elements one by one in Python (about 5 µs per event,
against about 0.2 µs packed; see docs/performance.md). They return the same `BatchDecisions`
as `Gate.decide_batch` / `Gate.decide_ids`.

It also makes values readable: every generated record and enum variant gets a `repr` that shows
its fields (the generated dataclasses declare none, so the default `repr` shows only the class
name), and a `TakenReport` prints as its `table` (formatted once, in Rust, as in Kotlin and
Swift; `Gate.explain_text` is an explanation's text).
"""

from __future__ import annotations

import array as _array
import dataclasses as _dataclasses
import sys as _sys
import typing as _typing

from ._ffi import *  # noqa: F401,F403 -- the generated API is the package's API
from ._ffi import BatchDecisions, Gate, PackedBatchDecisions, TakenReport
from ._ffi import trackgate_ffi as _module
from ._ffi.trackgate_ffi import __all__ as _generated

__all__ = [*_generated, "decide_many", "decide_ids_many"]

_BIG_ENDIAN = _sys.byteorder == "big"
# The packed format's name lengths are 4-byte integers; "I" is 4 bytes on every platform
# CPython supports, but say so rather than assume it.
_U32 = next(code for code in "IL" if _array.array(code).itemsize == 4)


def _little_endian(values: _array.array) -> bytes:
    if _BIG_ENDIAN:
        values.byteswap()
    return values.tobytes()


def _unpack(packed: PackedBatchDecisions) -> BatchDecisions:
    weights = _array.array("d", packed.weights_le)
    if _BIG_ENDIAN:
        weights.byteswap()
    return BatchDecisions(codes=packed.codes, weights=weights.tolist())


def decide_many(gate: Gate, names: _typing.Sequence[str], sizes: _typing.Sequence[int]) -> BatchDecisions:
    """`gate.decide_batch(names, sizes)`, with the arguments packed into bytes first.

    Same decisions, counts and errors (`GateError.InvalidArgument` when the lengths differ);
    raises `OverflowError` for a size outside 0..2**64-1 before anything is decided.
    """
    if len(names) != len(sizes):
        # Let the gate word the error, exactly as decide_batch would.
        return gate.decide_batch(list(names), list(sizes))
    encoded = [name.encode("utf-8") for name in names]
    lengths = _array.array(_U32, map(len, encoded))
    return _unpack(gate.decide_batch_packed(b"".join(encoded), _little_endian(lengths),
                                            _little_endian(_array.array("Q", sizes))))


def decide_ids_many(gate: Gate, ids: _typing.Sequence[int], sizes: _typing.Sequence[int]) -> BatchDecisions:
    """`gate.decide_ids(ids, sizes)`, with the arguments packed into bytes first.

    Same decisions, stale codes (255), counts and errors as `decide_ids`.
    """
    if len(ids) != len(sizes):
        return gate.decide_ids(list(ids), list(sizes))
    return _unpack(gate.decide_ids_packed(_little_endian(_array.array("Q", ids)),
                                          _little_endian(_array.array("Q", sizes))))


def _fields_repr(self) -> str:
    fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items() if not name.startswith("_"))
    return f"{type(self).__qualname__}({fields})"


def _make_readable() -> None:
    """Gives every generated record and enum variant a `repr` with its fields."""
    for name in _generated:
        value = getattr(_module, name, None)
        if not isinstance(value, type) or issubclass(value, BaseException):
            continue
        # Records are dataclasses; enums with fields hold one dataclass per variant (a subclass
        # of the enum made after it, so the dataclass marker is inherited, not its own).
        candidates = [value, *(member for member in vars(value).values() if isinstance(member, type))]
        for candidate in candidates:
            if _dataclasses.is_dataclass(candidate) and not hasattr(candidate, "__getitem__"):
                candidate.__repr__ = _fields_repr


_make_readable()
TakenReport.__str__ = lambda self: self.table
