"""Exact JSON reading and writing for the event domain (private).

The typed fast path (msgspec decode, re-encode, compare) covers every line the real CLI prints. This module is
the fallback that makes *any other* JSON object line round-trip byte-exactly as well: lines from forks,
hand-edited
fixtures, other SDKs' fakes. It has three parts:

* value types that remember their source token when it differs from the canonical encoding (:class:`RawStr`,
  :class:`RawInt`, :class:`RawFloat`), an object type that keeps duplicate keys (:class:`DuplicateKeyDict`),
  and the ordered, duplicate-preserving mapping used for unknown fields (:class:`ExtraFields`);
* :func:`read_json`, a small recursive-descent reader that produces plain Python JSON values, substituting the
  above only where the source is not canonical (so most values stay plain ``str``/``int``/``dict``);
* :func:`write_value`, the matching writer, which emits raw tokens where present and the canonical encoding
  (msgspec's, which equals serde_json's for strings) elsewhere.

"Canonical" is defined as *what msgspec encodes*, because the fast path verifies against msgspec's output. For
strings this equals serde_json's output (escape ``"``, ``\\``, ``\\b \\t \\n \\f \\r``, other control
characters as lowercase ``\\u00XX``, everything else raw UTF-8, including U+2028). Floats never occur in real
CLI output outside "any JSON" payloads; any float whose token differs from msgspec's rendering keeps its
token.

Insignificant whitespace between tokens is accepted but not preserved; the CLI never prints any.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import msgspec

__all__ = [
    "DuplicateKeyDict",
    "ExtraFields",
    "JsonSyntaxError",
    "RawFloat",
    "RawInt",
    "RawStr",
    "canonical_str",
    "object_pairs",
    "read_json",
    "write_key",
    "write_value",
]

_encode = msgspec.json.encode


class RawStr(str):
    """A string whose source token was not the canonical encoding (``"\\u00e9"``, ``"\\/"``, a lone
    surrogate).

    It compares, hashes and behaves as the decoded ``str``; ``raw`` is the exact token, quotes included, which
    the writer emits instead of re-encoding.
    """

    raw: str

    def __new__(cls, value: str, raw: str) -> RawStr:
        self = super().__new__(cls, value)
        self.raw = raw
        return self


class RawInt(int):
    """An integer written non-canonically (only ``-0`` is possible in valid JSON); ``raw`` is the token."""

    raw: str

    def __new__(cls, value: int, raw: str) -> RawInt:
        self = super().__new__(cls, value)
        self.raw = raw
        return self


class RawFloat(float):
    """A number whose token differs from msgspec's rendering (``1e5``, ``1.50``, ``1E-7``); ``raw`` is the
    token."""

    raw: str

    def __new__(cls, value: float, raw: str) -> RawFloat:
        self = super().__new__(cls, value)
        self.raw = raw
        return self


class DuplicateKeyDict(dict[str, Any]):
    """A JSON object that repeated a key. As a ``dict`` it holds the last value (``json.loads`` semantics);
    ``pairs`` keeps every pair in source order so the writer can reproduce the line. Treat it as read-only:
    mutating the dict does not update ``pairs``.
    """

    pairs: tuple[tuple[str, Any], ...]

    def __init__(self, pairs: Iterable[tuple[str, Any]]) -> None:
        items = tuple(pairs)
        super().__init__(items)
        self.pairs = items


class ExtraFields(Mapping[str, Any]):
    """Unknown fields of a known event/item (or the whole payload of an unknown one), in source order.

    A mapping (last value wins for a repeated key, like ``json.loads``) that also keeps every pair, duplicates
    included, in :attr:`pairs`. Immutable, so it can sit in a frozen struct. Deliberately *not* a ``dict``:
    msgspec refuses to encode it, which is how ``serialize`` notices that a node needs the exact writer.
    Equality ignores the order of distinct keys (it is form, like a node's layout) but not the order of a
    repeated key's values.
    """

    __slots__ = ("_map", "_pairs")
    _pairs: tuple[tuple[str, Any], ...]
    _map: dict[str, Any]

    def __init__(self, data: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        if isinstance(data, ExtraFields):
            pairs: tuple[tuple[str, Any], ...] = data._pairs
        elif isinstance(data, DuplicateKeyDict):
            pairs = data.pairs
        elif isinstance(data, Mapping):
            pairs = tuple(data.items())
        else:
            pairs = tuple((k, v) for k, v in data)
        self._pairs = pairs
        self._map = dict(pairs)

    @property
    def pairs(self) -> tuple[tuple[str, Any], ...]:
        """Every (key, value) pair in source order, duplicates included."""
        return self._pairs

    def __getitem__(self, key: str) -> Any:
        return self._map[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def _grouped(self) -> dict[str, list[Any]]:
        grouped: dict[str, list[Any]] = {}
        for key, value in self._pairs:
            grouped.setdefault(key, []).append(value)
        return grouped

    def __eq__(self, other: object) -> bool:
        # Key order is form, not data (like a node's layout), so it does not count; the order of the values of
        # one repeated key does.
        if isinstance(other, ExtraFields):
            return self._grouped() == other._grouped()
        if isinstance(other, Mapping):
            return len(self._pairs) == len(self._map) and self._map == dict(other.items())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(frozenset((k, _freeze(v)) for k, v in self._grouped().items()))

    def __repr__(self) -> str:
        return f"ExtraFields({list(self._pairs)!r})"


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON value, so ExtraFields can be hashed even when it holds lists/dicts."""
    if isinstance(value, dict):
        return tuple((k, _freeze(v)) for k, v in object_pairs(value))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def object_pairs(obj: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    """The pairs of a JSON object in source order, duplicates included when the reader saw any."""
    if isinstance(obj, DuplicateKeyDict):
        return obj.pairs
    if isinstance(obj, ExtraFields):
        return obj.pairs
    return obj.items()


# --------------------------------------------------------------------------------------------------- reading


class JsonSyntaxError(ValueError):
    """The text is not one valid JSON value; ``pos`` is the character offset where reading failed."""

    def __init__(self, reason: str, pos: int) -> None:
        super().__init__(f"{reason} at char {pos}")
        self.reason = reason
        self.pos = pos


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def canonical_str(value: str) -> str:
    """The canonical JSON token of a string (serde_json's rendering; msgspec's encoder is identical)."""
    try:
        return _encode(value).decode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate cannot be UTF-8; only a RawStr can reproduce its source
        return json.dumps(value, ensure_ascii=False)


def _string_value(token: str) -> str:
    if "\\" not in token:
        # No escapes and (by the regex) no raw control characters: the token *is* the canonical encoding.
        return token[1:-1]
    value: str = json.loads(token)
    return value if canonical_str(value) == token else RawStr(value, token)


def _number_value(token: str, is_float: bool) -> int | float:
    if not is_float:
        number = int(token)
        return number if token != "-0" else RawInt(number, token)
    real = float(token)
    return real if _encode(real).decode("ascii") == token else RawFloat(real, token)


def read_json(text: str) -> Any:
    """Read one JSON value exactly: object key order and duplicate keys are kept, and strings/numbers whose
    token is not canonical come back as Raw* values. Raises :class:`JsonSyntaxError` on anything that is not
    JSON."""
    try:
        value, pos = _read_value(text, _WS.match(text, 0).end())  # type: ignore[union-attr]
    except RecursionError:
        raise JsonSyntaxError("nesting too deep", 0) from None
    pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
    if pos != len(text):
        raise JsonSyntaxError("extra data after the JSON value", pos)
    return value


def _read_value(text: str, pos: int) -> tuple[Any, int]:
    if pos >= len(text):
        raise JsonSyntaxError("unexpected end of input", pos)
    ch = text[pos]
    if ch == "{":
        return _read_object(text, pos + 1)
    if ch == "[":
        return _read_array(text, pos + 1)
    if ch == '"':
        m = _STRING.match(text, pos)
        if m is None:
            raise JsonSyntaxError("invalid string", pos)
        return _string_value(m.group()), m.end()
    if text.startswith("true", pos):
        return True, pos + 4
    if text.startswith("false", pos):
        return False, pos + 5
    if text.startswith("null", pos):
        return None, pos + 4
    m = _NUMBER.match(text, pos)
    if m is None or m.end() == pos:
        raise JsonSyntaxError("unexpected character", pos)
    return _number_value(m.group(), m.group(1) is not None or m.group(2) is not None), m.end()


def _skip_ws(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _read_object(text: str, pos: int) -> tuple[dict[str, Any], int]:
    pairs: list[tuple[str, Any]] = []
    pos = _skip_ws(text, pos)
    if text.startswith("}", pos):
        return {}, pos + 1
    while True:
        m = _STRING.match(text, pos)
        if m is None:
            raise JsonSyntaxError("expected an object key", pos)
        key = _string_value(m.group())
        pos = _skip_ws(text, m.end())
        if not text.startswith(":", pos):
            raise JsonSyntaxError("expected ':'", pos)
        value, pos = _read_value(text, _skip_ws(text, pos + 1))
        pairs.append((key, value))
        pos = _skip_ws(text, pos)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
            continue
        if text.startswith("}", pos):
            pos += 1
            break
        raise JsonSyntaxError("expected ',' or '}'", pos)
    result = dict(pairs)
    if len(result) != len(pairs):
        return DuplicateKeyDict(pairs), pos
    # A RawStr key survives in a plain dict: the dict keeps the key object it was given.
    return result, pos


def _read_array(text: str, pos: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    pos = _skip_ws(text, pos)
    if text.startswith("]", pos):
        return items, pos + 1
    while True:
        value, pos = _read_value(text, pos)
        items.append(value)
        pos = _skip_ws(text, pos)
        if text.startswith(",", pos):
            pos = _skip_ws(text, pos + 1)
            continue
        if text.startswith("]", pos):
            return items, pos + 1
        raise JsonSyntaxError("expected ',' or ']'", pos)


# --------------------------------------------------------------------------------------------------- writing

NodeWriter = Callable[[Any, list[str]], bool]
"""Writes a typed node (a Struct) into ``out`` and returns True, or returns False if it is not a node."""


def write_key(key: str, out: list[str]) -> None:
    """Append an object key token (raw if it was written non-canonically)."""
    out.append(key.raw if type(key) is RawStr else canonical_str(key))


def write_value(value: Any, out: list[str], write_node: NodeWriter) -> None:
    """Append the exact JSON text of ``value`` to ``out``: raw tokens where the reader kept them, canonical
    (serde/msgspec) encoding otherwise; typed nodes are delegated to ``write_node``."""
    t = type(value)
    if t is str:
        out.append(canonical_str(value))
    elif t is RawStr or t is RawInt or t is RawFloat:
        out.append(value.raw)
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif t is int:
        out.append(str(value))
    elif t is float:
        out.append(_encode(value).decode("ascii"))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in object_pairs(value):
            if not first:
                out.append(",")
            first = False
            write_key(key, out)
            out.append(":")
            write_value(item, out, write_node)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            write_value(item, out, write_node)
        out.append("]")
    elif isinstance(value, str):  # StrEnum members and other str subclasses: their value, canonically
        out.append(canonical_str(str.__str__(value)))
    elif isinstance(value, int):  # IntEnum and other int subclasses
        out.append(str(int(value)))
    elif not write_node(value, out):
        # Anything else msgspec can encode (it will raise a clear error otherwise).
        out.append(_encode(value).decode("utf-8"))
