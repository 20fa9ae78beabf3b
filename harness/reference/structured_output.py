"""Structured output: build a JSON Schema, validate the final response against it, decode it into a typed value.

The CLI forwards ``--output-schema`` to the model but does **not** validate the answer (observed with 0.169.0), so an
SDK that promises typed results must check them itself. Violations are reported per JSON pointer, all at once, so a
user sees every problem of a response in one error.

The schema builder accepts dataclasses (nested), ``str``/``int``/``float``/``bool``, ``None`` unions, ``list[T]``,
``tuple[T, ...]``, ``dict[str, T]``, ``Literal[...]`` and ``Enum``. Fields without a default are required, and objects
are closed (``additionalProperties: false``), which the Responses API's strict mode requires.

A typical use: build the schema from a dataclass, pass it as the turn's output schema, decode the final response:

>>> import dataclasses
>>> @dataclasses.dataclass(frozen=True)
... class Verdict:
...     ok: bool
...     reasons: list[str] = dataclasses.field(default_factory=list)
>>> schema_for(Verdict)
{'type': 'object', 'properties': {'ok': {'type': 'boolean'}, 'reasons': {'type': 'array', 'items': {'type': 'string'}}},
 'required': ['ok'], 'additionalProperties': False}
>>> decode_output('{"ok": true, "reasons": ["tests pass"]}', Verdict)
Verdict(ok=True, reasons=['tests pass'])

A response that breaks the schema names every failing location by JSON pointer, all at once:

>>> decode_output('{"ok": "yes", "reasons": [1]}', Verdict)
Traceback (most recent call last):
    ...
harness.reference.structured_output.StructuredOutputError: Structured output does not match the schema:
/ok: 'yes' is not of type 'boolean'; /reasons/0: 1 is not of type 'string'
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, get_args, get_origin, get_type_hints

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from harness.reference.errors import CodexError, InvalidOptionsError

__all__ = [
    "OutputViolation",
    "StructuredOutputError",
    "decode_output",
    "schema_for",
    "validate_output",
    "validate_schema",
]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class OutputViolation:
    """One failing location of a structured response: an RFC 6901 JSON pointer and what is wrong there."""

    pointer: str
    message: str
    validator: str

    def to_dict(self) -> dict[str, str]:
        return {"pointer": self.pointer, "message": self.message, "validator": self.validator}


class StructuredOutputError(CodexError):
    """The final response is not JSON, or does not satisfy the output schema."""

    kind: typing.ClassVar[str] = "structured_output"

    def __init__(self, violations: list[OutputViolation], response_text: str) -> None:
        listing = "; ".join(f"{v.pointer or '/'}: {v.message}" for v in violations)
        super().__init__(f"Structured output does not match the schema: {listing}")
        self.violations = violations
        self.response_text = response_text

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["violations"] = [v.to_dict() for v in self.violations]
        return data


def _pointer(path: typing.Iterable[Any]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "".join("/" + p for p in parts)


def validate_schema(schema: Any) -> Mapping[str, Any]:
    """Check that ``schema`` is a plain JSON object and a valid JSON Schema (TS SDK text for the first rule).

    >>> validate_schema({"type": "object"})
    {'type': 'object'}
    >>> validate_schema([{"type": "object"}])
    Traceback (most recent call last):
        ...
    harness.reference.errors.InvalidOptionsError: outputSchema must be a plain JSON object
    """
    if not isinstance(schema, Mapping):
        raise InvalidOptionsError("outputSchema must be a plain JSON object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidOptionsError(f"outputSchema is not a valid JSON Schema: {exc.message}") from exc
    return schema


def validate_output(text: str, schema: Mapping[str, Any]) -> Any:
    """Parse ``text`` as JSON and validate it; return the decoded value or raise :class:`StructuredOutputError`.

    >>> validate_output('[1, 2]', {"type": "array", "items": {"type": "integer"}})
    [1, 2]
    >>> try:
    ...     validate_output('{"answer": 4', {"type": "object"})
    ... except StructuredOutputError as exc:
    ...     print(exc.kind, exc.violations[0])
    structured_output OutputViolation(pointer='', message="not valid JSON: Expecting ',' delimiter at line 1 column 13",
                                      validator='json')
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StructuredOutputError(
            [
                OutputViolation(
                    "", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "json"
                )
            ],
            text,
        ) from exc
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(value), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        raise StructuredOutputError(
            [OutputViolation(_pointer(e.absolute_path), e.message, str(e.validator)) for e in errors], text
        )
    return value


def decode_output(text: str, target: type[T], schema: Mapping[str, Any] | None = None) -> T:
    """Validate ``text`` against ``schema`` (default: :func:`schema_for(target)`) and build a ``target`` value."""
    value = validate_output(text, schema if schema is not None else schema_for(target))
    return typing.cast(T, _build(target, value))


def schema_for(target: Any) -> dict[str, Any]:
    """The JSON Schema of a dataclass (or any supported type annotation).

    >>> schema_for(dict[str, int | None])
    {'type': 'object', 'additionalProperties': {'anyOf': [{'type': 'integer'}, {'type': 'null'}]}}
    >>> schema_for(tuple[int, str])
    Traceback (most recent call last):
        ...
    harness.reference.errors.InvalidOptionsError: unsupported type for structured output: tuple[int, str]
    (use tuple[T, ...])
    """
    return _schema(target)


def _schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is type(None) or tp is None:
        return {"type": "null"}
    if tp is Any:
        return {}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    if origin is typing.Literal:
        return {"enum": list(get_args(tp))}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema(a) for a in get_args(tp)]}
    if origin in (list, tuple) or tp in (list, tuple):
        args = get_args(tp)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            raise InvalidOptionsError(f"unsupported type for structured output: {tp!r} (use tuple[T, ...])")
        return {"type": "array", "items": _schema(args[0]) if args else {}}
    if origin is dict or tp is dict:
        args = get_args(tp)
        return {"type": "object", "additionalProperties": _schema(args[1]) if args else {}}
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = get_type_hints(tp)
        props: dict[str, Any] = {}
        required: list[str] = []
        for f in dataclasses.fields(tp):
            props[f.name] = _schema(hints[f.name])
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    raise InvalidOptionsError(f"unsupported type for structured output: {tp!r}")


def _build(tp: Any, value: Any) -> Any:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = get_type_hints(tp)
        kwargs = {
            f.name: _build(hints[f.name], value[f.name]) for f in dataclasses.fields(tp) if f.name in value
        }
        return tp(**kwargs)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            if not Draft202012Validator(_schema(arg)).is_valid(value):
                continue
            return _build(arg, value)
        return value
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        return [_build(item, v) for v in value]
    if origin is tuple:
        return tuple(_build(get_args(tp)[0], v) for v in value)
    if origin is dict:
        args = get_args(tp)
        return {k: _build(args[1], v) for k, v in value.items()} if args else dict(value)
    return value
