"""The base of every typed event/item node, and the exact (slow-path) builder and writer (private).

Every event, item and nested object is a frozen ``msgspec.Struct`` deriving from :class:`Node`. Two hidden
fields carry what a plain Struct cannot:

* ``_layout`` — the source key order of a node read by the exact reader (which keys, in which order, with
  duplicates, unknown keys and non-canonical key tokens). It does **not** take part in ``==``/``hash``: two
  nodes with the same data are equal however their lines were ordered. :func:`msgspec.structs.replace` keeps
  it; fields the layout does not mention are appended in canonical order when they differ from their default
  (so a field the source lacked stays absent, while one set by ``replace`` is written).
* ``extra_fields`` — unknown fields of a known type, as :class:`ExtraFields` (ordered pairs). It *does* take
  part in equality: it is data.

Both hold types msgspec refuses to encode, so ``msgspec.json.encode`` raises ``TypeError`` for any tree that
needs the exact writer; ``serialize`` uses that as its (free) signal to fall back to :func:`write_node`.

The builder (:func:`build`) is type-directed: it reads each Struct's field annotations once and converts JSON
values accordingly, collecting problems as :class:`Invalid` (raised in strict mode, turned into extra fields
otherwise).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Union, get_args, get_origin

import msgspec
from msgspec import UNSET, UnsetType

from harness.reference._jsoncodec import (
    DuplicateKeyDict,
    ExtraFields,
    RawStr,
    canonical_str,
    object_pairs,
    write_value,
)

__all__ = ["Invalid", "Layout", "Node", "build", "dispatch_table", "write_node"]

LayoutEntry = str | int | tuple[str, str | None, str | None]
"""``str``: a field (by attribute name); ``int``: an index into the extra pairs; ``(attr, raw key, raw
value)``: a
field whose key token (or, for an event's ``type`` tag, value token) was written non-canonically."""


class Layout:
    """Source key order of a node built by the exact reader (see the module docstring)."""

    __slots__ = ("entries",)

    def __init__(self, entries: tuple[LayoutEntry, ...]) -> None:
        self.entries = entries

    def __repr__(self) -> str:
        return f"Layout({self.entries!r})"


class Node(msgspec.Struct, frozen=True, kw_only=True, eq=False, repr_omit_defaults=True, forbid_unknown_fields=True):
    """Base of all typed nodes: frozen, keyword-only, hidden ``_layout`` and ``extra_fields`` (see module
    doc)."""

    _layout: Layout | UnsetType = msgspec.field(default=UNSET, name="__layout__")
    extra_fields: ExtraFields | UnsetType = msgspec.field(default=UNSET, name="__extra_fields__")

    # Per-class hints for the exact builder/writer.
    __json_keys__: ClassVar[Mapping[str, str]] = {}
    """Attribute → JSON key where two attributes share one key (web_search's second ``id``)."""
    __payload_field__: ClassVar[str | None] = None
    """For the Unknown* classes: the attribute that holds every non-modelled pair (instead of
    extra_fields)."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for name in self.__struct_fields__:
            if name != "_layout" and not getattr(self, name) == getattr(other, name):
                return False
        return True

    def __ne__(self, other: object) -> bool:
        # Explicit: msgspec's C-level comparison would otherwise answer ``!=`` by identity (eq=False).
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, n) for n in self.__struct_fields__ if n != "_layout")))


class Invalid(Exception):
    """A JSON value that does not fit the typed model; ``reason`` names the path (``$.item.exit_code``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ------------------------------------------------------------------------------------------------ conversion

Converter = Callable[[Any, bool, str], Any]
_NoneType = type(None)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Mapping):
        return "object"
    return "array"


def _expect(kind: str, ok: Callable[[Any], bool]) -> Converter:
    def convert(value: Any, strict: bool, path: str) -> Any:
        if not ok(value):
            raise Invalid(f"expected {kind} at `{path}`, got {_describe(value)}")
        return value

    return convert


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _any(value: Any, strict: bool, path: str) -> Any:
    return value


def _type_values(cls: type) -> list[str]:
    """The ``type`` strings a Struct class answers to: its tag, or the Literal values of its ``type``
    field."""
    tag = cls.__struct_config__.tag  # type: ignore[attr-defined]
    if isinstance(tag, str):
        return [tag]
    for f in msgspec.structs.fields(cls):
        if f.name == "type" and get_origin(f.type) is Literal:
            return [str(a) for a in get_args(f.type)]
    return []


def dispatch_table(classes: tuple[type, ...]) -> tuple[dict[str, type], type | None]:
    """Map each ``type`` string to its class; the class with a payload field (Unknown*) is the fallback."""
    table: dict[str, type] = {}
    fallback: type | None = None
    for cls in classes:
        if getattr(cls, "__payload_field__", None):
            fallback = cls
        for value in _type_values(cls):
            table[value] = cls
    return table, fallback


def _union_of_nodes(members: list[Any]) -> Converter:
    table, fallback = dispatch_table(tuple(members))

    def convert(value: Any, strict: bool, path: str) -> Any:
        if not isinstance(value, Mapping):
            raise Invalid(f"expected object at `{path}`, got {_describe(value)}")
        kind = value.get("type")
        cls = table.get(kind) if isinstance(kind, str) else None
        if cls is None:
            if strict or fallback is None:
                raise Invalid(f"unknown `type` {kind!r} at `{path}`")
            return build(fallback, value, strict, path)
        try:
            return build(cls, value, strict, path)
        except Invalid:
            if strict or fallback is None:
                raise
            return build(fallback, value, strict, path)

    return convert


def _converter(tp: Any) -> Converter:
    if tp is Any:
        return _any
    if isinstance(tp, typing.TypeVar):  # a generic node's parameter (an item event's ``item``): its bound
        return _any if tp.__bound__ is None else _converter(tp.__bound__)
    if tp is str:
        return _expect("string", lambda v: isinstance(v, str))
    if tp is bool:
        return _expect("bool", lambda v: v is True or v is False)
    if tp is int:
        return _expect("int", _is_int)
    if tp is float:
        return _expect("number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
    if tp is _NoneType:
        return _expect("null", lambda v: v is None)
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(tp) if a is not UnsetType]
        nodes = [a for a in members if isinstance(a, type) and issubclass(a, Node)]
        if len(nodes) > 1:
            node_conv = _union_of_nodes(nodes)
            nullable = _NoneType in members

            def convert_nodes(value: Any, strict: bool, path: str) -> Any:
                if value is None and nullable:
                    return None
                return node_conv(value, strict, path)

            return convert_nodes
        convs = [_converter(a) for a in members]
        if len(convs) == 1:
            return convs[0]

        def convert_union(value: Any, strict: bool, path: str) -> Any:
            first: Invalid | None = None
            for conv in convs:
                try:
                    return conv(value, strict, path)
                except Invalid as exc:
                    first = first or exc
            assert first is not None
            raise first

        return convert_union
    if origin is Literal:
        allowed = get_args(tp)

        def convert_literal(value: Any, strict: bool, path: str) -> Any:
            if value not in allowed or type(value) is bool:
                raise Invalid(f"expected one of {list(allowed)} at `{path}`, got {value!r}")
            return value

        return convert_literal
    if origin is tuple or origin is list:
        inner = _converter(get_args(tp)[0])
        container: Callable[[Any], Any] = tuple if origin is tuple else list

        def convert_seq(value: Any, strict: bool, path: str) -> Any:
            if not isinstance(value, list):
                raise Invalid(f"expected array at `{path}`, got {_describe(value)}")
            return container(inner(v, strict, f"{path}[{i}]") for i, v in enumerate(value))

        return convert_seq
    if origin is dict:
        inner = _converter(get_args(tp)[1])

        def convert_map(value: Any, strict: bool, path: str) -> Any:
            if not isinstance(value, Mapping):
                raise Invalid(f"expected object at `{path}`, got {_describe(value)}")
            pairs = [(k, inner(v, strict, f"{path}.{k}")) for k, v in object_pairs(value)]
            return DuplicateKeyDict(pairs) if isinstance(value, DuplicateKeyDict) else dict(pairs)

        return convert_map
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members_by_value: dict[Any, Any] = dict(tp._value2member_map_)
        name = tp.__name__

        def convert_enum(value: Any, strict: bool, path: str) -> Any:
            if not isinstance(value, str):
                raise Invalid(f"expected {name} string at `{path}`, got {_describe(value)}")
            member = members_by_value.get(value)
            if member is None:
                if strict:
                    raise Invalid(f"unknown {name} value {value!r} at `{path}`")
                return value  # preserved as a plain str (tolerant)
            # A non-canonically written value keeps its RawStr (it still equals the member).
            return value if type(value) is RawStr else member

        return convert_enum
    if isinstance(tp, type) and issubclass(tp, Node):
        cls = tp

        def convert_node(value: Any, strict: bool, path: str) -> Any:
            if not isinstance(value, Mapping):
                raise Invalid(f"expected object at `{path}`, got {_describe(value)}")
            return build(cls, value, strict, path)

        return convert_node
    raise TypeError(f"no converter for {tp!r}")  # a modelling bug, caught by the tests


# ------------------------------------------------------------------------------------------------ class specs

_TAG = "type"
_NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class _Field:
    attr: str
    key: str
    key_token: str
    convert: Converter
    has_default: bool
    always_printed: bool
    default: Any  # the default value (factory result), or _NO_DEFAULT
    unset_when_absent: bool = False  # printed by default, but an older CLI may omit it: absent parses as UNSET


@dataclass(frozen=True)
class _Spec:
    tag: str | None  # the event's tag value (tagged Structs), else None
    tag_token: str
    fields: tuple[_Field, ...]  # canonical order, hidden/payload attributes excluded
    by_attr: dict[str, _Field]
    by_key: dict[str, tuple[_Field, ...]]  # one JSON key → the attributes its occurrences fill, in order
    payload: str | None


_SPECS: dict[type, _Spec] = {}


def _spec(cls: type) -> _Spec:
    spec = _SPECS.get(cls)
    if spec is not None:
        return spec
    payload = getattr(cls, "__payload_field__", None)
    json_keys: Mapping[str, str] = getattr(cls, "__json_keys__", {})
    optional: frozenset[str] = getattr(cls, "__optional_fields__", frozenset())
    fields: list[_Field] = []
    for info in msgspec.structs.fields(cls):
        if info.name in ("_layout", "extra_fields") or info.name == payload:
            continue
        key = json_keys.get(info.name, info.encode_name)
        has_default = not info.required
        always = info.default is not UNSET and info.name not in optional
        if info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory()
        else:
            default = _NO_DEFAULT if info.default is msgspec.NODEFAULT else info.default
        fields.append(
            _Field(
                info.name,
                key,
                canonical_str(key),
                _converter(info.type),
                has_default,
                always,
                default,
                unset_when_absent=info.name in optional,
            )
        )
    by_key: dict[str, tuple[_Field, ...]] = {}
    for f in fields:
        by_key[f.key] = (*by_key.get(f.key, ()), f)
    tag = cls.__struct_config__.tag  # type: ignore[attr-defined]
    spec = _Spec(
        tag=tag if isinstance(tag, str) else None,
        tag_token=canonical_str(tag) if isinstance(tag, str) else "",
        fields=tuple(fields),
        by_attr={f.attr: f for f in fields},
        by_key=by_key,
        payload=payload,
    )
    _SPECS[cls] = spec
    return spec


# ------------------------------------------------------------------------------------------------ building


def build(cls: type, obj: Mapping[str, Any], strict: bool, path: str = "$") -> Any:
    """Build ``cls`` from a JSON object read by the exact reader, recording its layout and unknown fields.

    Key occurrences: a key the class models once takes its *last* occurrence (``json.loads`` semantics;
    earlier ones become extra pairs); a key several attributes share (web_search ``id``) fills them in order.
    In strict mode any misfit raises :class:`Invalid`; otherwise a misfit value is kept as an extra pair and
    the attribute keeps its default (or, if it has none, :class:`Invalid` propagates so a caller can fall back
    to Unknown*).
    """
    spec = _spec(cls)
    pairs = list(object_pairs(obj))
    assigned: dict[int, _Field | None] = {}  # pair index → field (None: the event tag)
    occurrences: dict[str, list[int]] = {}
    for i, (key, _) in enumerate(pairs):
        if key in spec.by_key or (spec.tag is not None and key == _TAG):
            occurrences.setdefault(key, []).append(i)
    for key, idxs in occurrences.items():
        if spec.tag is not None and key == _TAG:
            assigned[idxs[-1]] = None
            continue
        targets = spec.by_key[key]
        if len(targets) == 1:
            assigned[idxs[-1]] = targets[0]
        else:
            for idx, target in zip(idxs, targets, strict=False):
                assigned[idx] = target

    values: dict[str, Any] = {}
    extras: list[tuple[str, Any]] = []
    layout: list[LayoutEntry] = []
    for i, (key, value) in enumerate(pairs):
        raw_key = key.raw if type(key) is RawStr else None
        if i in assigned:
            field = assigned[i]
            if field is None:
                raw_value = value.raw if type(value) is RawStr else None
                layout.append((_TAG, raw_key, raw_value) if raw_key or raw_value else _TAG)
                continue
            try:
                values[field.attr] = field.convert(value, strict, f"{path}.{key}")
            except Invalid:
                if strict:
                    raise
            else:
                layout.append((field.attr, raw_key, None) if raw_key else field.attr)
                continue
        layout.append(len(extras))
        extras.append((key, value))

    for field in spec.fields:
        if field.attr not in values:
            if field.unset_when_absent:
                values[field.attr] = UNSET
                continue
            if strict and field.always_printed:
                raise Invalid(f"missing required field `{path}.{field.key}`")
            if not field.has_default:
                raise Invalid(f"missing required field `{path}.{field.key}`")
    if spec.payload is not None:
        values[spec.payload] = ExtraFields(extras)
    elif extras:
        values["extra_fields"] = ExtraFields(extras)
    values["_layout"] = Layout(tuple(layout))
    return cls(**values)


# ------------------------------------------------------------------------------------------------ writing


def _same(value: Any, default: Any) -> bool:
    return default is not _NO_DEFAULT and type(value) is type(default) and bool(value == default)


def write_node(node: Any, out: list[str]) -> bool:
    """Append the exact JSON of a typed node to ``out`` (honouring its layout); False if ``node`` is no
    Node."""
    if not isinstance(node, Node):
        return False
    spec = _spec(type(node))
    if spec.payload is not None:
        extra_source: Any = getattr(node, spec.payload)
    else:
        extra_source = node.extra_fields
    extras: tuple[tuple[str, Any], ...] = () if extra_source is UNSET else tuple(object_pairs(extra_source))
    out.append("{")
    first = True

    def emit(key_token: str, value: Any = UNSET, value_token: str | None = None) -> None:
        nonlocal first
        if not first:
            out.append(",")
        first = False
        out.append(key_token)
        out.append(":")
        if value_token is not None:
            out.append(value_token)
        else:
            write_value(value, out, write_node)

    done: set[str] = set()
    done_extras: set[int] = set()
    layout = node._layout
    if isinstance(layout, Layout):
        for entry in layout.entries:
            if type(entry) is int:
                if entry < len(extras) and entry not in done_extras:
                    done_extras.add(entry)
                    k, v = extras[entry]
                    emit(k.raw if type(k) is RawStr else canonical_str(k), v)
                continue
            if type(entry) is tuple:
                attr, raw_key, raw_value = entry
            else:
                attr, raw_key, raw_value = typing.cast(str, entry), None, None
            if attr in done:
                continue
            if attr == _TAG and spec.tag is not None:
                done.add(attr)
                emit(raw_key or '"type"', value_token=raw_value or spec.tag_token)
                continue
            field = spec.by_attr.get(attr)
            if field is None:
                continue
            value = getattr(node, attr)
            if value is UNSET:
                continue
            done.add(attr)
            emit(raw_key or field.key_token, value)
    if spec.tag is not None and _TAG not in done:
        emit('"type"', value_token=spec.tag_token)
    has_layout = isinstance(layout, Layout)
    for field in spec.fields:
        if field.attr not in done:
            value = getattr(node, field.attr)
            # With a recorded layout, a field the source lacked stays absent unless it was changed since
            # (msgspec.structs.replace); without one, every set field is written (canonical form).
            if value is not UNSET and not (has_layout and _same(value, field.default)):
                emit(field.key_token, value)
    for i, (k, v) in enumerate(extras):
        if i not in done_extras:
            emit(k.raw if type(k) is RawStr else canonical_str(k), v)
    out.append("}")
    return True
