"""The tolerant model base of :mod:`harness.reference.appserver.messages` (private).

Why not msgspec Structs or strict dataclasses: the app-server protocol grows every release (0.163 → 0.171
added fields to most objects), and the harness must re-serialize every message it read to the *same JSON
value*, unknown fields included. So a model is a frozen dataclass whose typed fields are decoded from the wire
object, plus:

* ``raw`` — the wire object as read (key order, unknown keys, ``null`` versus absent);
* ``invalid`` — wire keys whose value did not have the declared type (kept verbatim, field left ``None``).

:meth:`Model.to_dict` walks ``raw``'s keys in order and writes each known field from its *typed* value (so a
lossy decoder shows up as a round-trip failure in the tests) and every other key verbatim. Fields are
``T | None = None``: a missing key is ``None`` and stays absent on output.

Supported annotations: ``str``, ``int``, ``bool``, ``float``, ``Any``, a :class:`Model` subclass, a model union
resolved through a ``dispatch`` classmethod, and ``tuple[X, ...]`` of any of these (each ``| None``).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Self

__all__ = ["Model", "camel"]


def camel(name: str) -> str:
    """``snake_case`` attribute name → the protocol's ``camelCase`` key."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Invalid(Exception):
    """A wire value that does not have the declared type."""


Decoder = Callable[[Any], Any]
Encoder = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _primitive(expected: type) -> Decoder:
    def decode(value: Any) -> Any:
        if isinstance(value, bool) and expected is not bool:
            raise _Invalid
        if expected is float and isinstance(value, int):
            return value
        if not isinstance(value, expected):
            raise _Invalid
        return value

    return decode


def _codec(tp: Any) -> tuple[Decoder, Encoder]:
    """Decoder/encoder pair for one field annotation (``None`` is always accepted and written as ``null``)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        if len(members) != 1:
            raise TypeError(f"unsupported union annotation {tp!r}")
        return _codec(members[0])
    if tp is Any:
        return _identity, _identity
    if tp in (str, int, bool, float):
        return _primitive(tp), _identity
    if origin is tuple:
        inner_decode, inner_encode = _codec(typing.get_args(tp)[0])

        def decode_tuple(value: Any) -> Any:
            if not isinstance(value, list):
                raise _Invalid
            return tuple(inner_decode(v) for v in value)

        def encode_tuple(value: Any) -> Any:
            return [inner_encode(v) for v in value]

        return decode_tuple, encode_tuple
    if isinstance(tp, type) and issubclass(tp, Model):
        model = tp

        def decode_model(value: Any) -> Any:
            if not isinstance(value, Mapping):
                raise _Invalid
            return model.dispatch(value)

        return decode_model, _encode_model
    raise TypeError(f"unsupported field annotation {tp!r}")


def _encode_model(value: Any) -> Any:
    return value.to_dict()


@dataclasses.dataclass(frozen=True, slots=True)
class _FieldSpec:
    attr: str
    key: str
    decode: Decoder
    encode: Encoder


_SPECS: dict[type, tuple[dict[str, _FieldSpec], dict[str, _FieldSpec]]] = {}


def _specs(cls: type[Model]) -> tuple[dict[str, _FieldSpec], dict[str, _FieldSpec]]:
    """``(by wire key, by attribute)`` for ``cls``, computed once."""
    cached = _SPECS.get(cls)
    if cached is not None:
        return cached
    hints = typing.get_type_hints(cls)
    by_key: dict[str, _FieldSpec] = {}
    for f in dataclasses.fields(cls):
        if f.name in ("raw", "invalid"):
            continue
        decode, encode = _codec(hints[f.name])
        key = f.metadata.get("key", camel(f.name))
        by_key[key] = _FieldSpec(f.name, key, decode, encode)
    result = (by_key, {s.attr: s for s in by_key.values()})
    _SPECS[cls] = result
    return result


@dataclasses.dataclass(frozen=True, kw_only=True)
class Model:
    """Base of every typed wire object (see the module docstring)."""

    #: The wire object as read; treat it as read-only.
    raw: Mapping[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    #: Wire keys whose value did not have the declared type (kept verbatim in ``raw``).
    invalid: frozenset[str] = dataclasses.field(default=frozenset(), repr=False, compare=False)

    #: Set on classes that stand for a wire value they do not model (unknown method, item type, ...).
    UNKNOWN: ClassVar[bool] = False

    @classmethod
    def dispatch(cls, data: Mapping[str, Any]) -> Model:
        """Build the right class for ``data``; unions (items) override this to pick a subclass by tag."""
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Decode ``data`` tolerantly: mistyped values are kept verbatim and listed in ``invalid``."""
        by_key, _ = _specs(cls)
        values: dict[str, Any] = {}
        invalid: set[str] = set()
        for key, value in data.items():
            spec = by_key.get(key)
            if spec is None or value is None:
                continue
            try:
                values[spec.attr] = spec.decode(value)
            except _Invalid:
                invalid.add(key)
        return cls(raw=dict(data), invalid=frozenset(invalid), **values)

    def to_dict(self) -> dict[str, Any]:
        """The wire object: known fields from their typed values, everything else verbatim, in ``raw``'s order.

        A model built in code (empty ``raw``) writes its non-``None`` fields in declaration order."""
        by_key, by_attr = _specs(type(self))
        if not self.raw:
            return {
                s.key: s.encode(getattr(self, s.attr)) for s in by_attr.values() if getattr(self, s.attr) is not None
            }
        out: dict[str, Any] = {}
        for key, value in self.raw.items():
            spec = by_key.get(key)
            if spec is None or key in self.invalid:
                out[key] = value
                continue
            typed = getattr(self, spec.attr)
            out[key] = None if typed is None else spec.encode(typed)
        return out
