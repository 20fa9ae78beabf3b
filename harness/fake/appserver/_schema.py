"""A minimal JSON Schema (draft-07 subset) validator for the reply schemas in ``schemas/``.

Why not ``jsonschema`` here: the fake app-server is a process an SDK starts for every session, and importing
``jsonschema`` would double its start-up time. The reply schemas use only the keywords below; a schema with any
other validation keyword is refused at load time, and the tests check that this validator and ``jsonschema``
agree on every reply shape (``tests/test_fake_appserver_replies.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["SchemaValidator", "UnsupportedSchemaError"]

_ANNOTATIONS = frozenset({"$schema", "title", "description", "default", "format", "definitions"})
_KEYWORDS = frozenset({"$ref", "type", "enum", "oneOf", "anyOf", "allOf", "properties", "required",
                       "additionalProperties", "items", "minimum"})


class UnsupportedSchemaError(ValueError):
    """The schema uses a keyword this validator does not implement."""


def _type_ok(value: Any, name: str) -> bool:
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "boolean":
        return isinstance(value, bool)
    if name == "null":
        return value is None
    if name == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer())
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise UnsupportedSchemaError(f"unknown type {name!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


class SchemaValidator:
    """Validates instances against one root schema (with ``#/definitions/...`` references)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.root = schema
        self._check(schema)

    def _check(self, schema: Any) -> None:
        if isinstance(schema, bool):
            return
        if not isinstance(schema, Mapping):
            raise UnsupportedSchemaError(f"not a schema: {schema!r}")
        unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
        if unknown:
            raise UnsupportedSchemaError(f"unsupported keyword(s) {sorted(unknown)}")
        for sub in (schema.get("definitions") or {}).values():
            self._check(sub)
        for sub in (schema.get("properties") or {}).values():
            self._check(sub)
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key) or ():
                self._check(sub)
        for key in ("items", "additionalProperties"):
            if key in schema:
                self._check(schema[key])

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#/"):
            raise UnsupportedSchemaError(f"only local references are supported, got {ref!r}")
        node: Any = self.root
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    def errors(self, instance: Any, schema: Any = None, path: str = "") -> Iterator[str]:
        """``"<json pointer>: <message>"`` for each violation (the first few levels; ``oneOf`` reports once)."""
        schema = self.root if schema is None else schema
        if schema is True:
            return
        if schema is False:
            yield f"{path or '/'}: not allowed"
            return
        if "$ref" in schema:
            yield from self.errors(instance, self._resolve(schema["$ref"]), path)
        where = path or "/"
        if "type" in schema:
            names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(_type_ok(instance, n) for n in names):
                yield f"{where}: {_show(instance)} is not of type {' or '.join(names)}"
                return
        if "enum" in schema and not any(_equal(instance, v) for v in schema["enum"]):
            yield f"{where}: {_show(instance)} is not one of {schema['enum']}"
        if "minimum" in schema and isinstance(instance, int | float) and not isinstance(instance, bool) \
                and instance < schema["minimum"]:
            yield f"{where}: {instance} is less than {schema['minimum']}"
        if "oneOf" in schema:
            matches = sum(1 for sub in schema["oneOf"] if not any(True for _ in self.errors(instance, sub, path)))
            if matches != 1:
                yield f"{where}: {_show(instance)} is not one of the schema's values" if matches == 0 else \
                    f"{where}: {_show(instance)} matches {matches} alternatives"
        if "anyOf" in schema and not any(not any(True for _ in self.errors(instance, sub, path))
                                         for sub in schema["anyOf"]):
            yield f"{where}: {_show(instance)} matches none of the alternatives"
        for sub in schema.get("allOf") or ():
            yield from self.errors(instance, sub, path)
        if isinstance(instance, dict):
            properties = schema.get("properties") or {}
            for name in schema.get("required") or ():
                if name not in instance:
                    yield f"{where}: {name!r} is a required property"
            for name, value in instance.items():
                if name in properties:
                    yield from self.errors(value, properties[name], f"{path}/{name}")
                elif "additionalProperties" in schema:
                    extra = schema["additionalProperties"]
                    if extra is False:
                        yield f"{where}: additional property {name!r} is not allowed"
                    else:
                        yield from self.errors(value, extra, f"{path}/{name}")
        if isinstance(instance, list) and "items" in schema:
            for i, value in enumerate(instance):
                yield from self.errors(value, schema["items"], f"{path}/{i}")

    def is_valid(self, instance: Any) -> bool:
        return not any(True for _ in self.errors(instance))


def _show(value: Any) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."
