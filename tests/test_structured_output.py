"""Structured output: schema builder, validation with JSON pointers, typed decoding."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

import pytest

from harness.reference.errors import InvalidOptionsError
from harness.reference.structured_output import (
    StructuredOutputError,
    decode_output,
    schema_for,
    validate_output,
    validate_schema,
)


class Mood(enum.Enum):
    OK = "ok"
    BAD = "bad"


@dataclass
class Line:
    name: str
    qty: int = 1


@dataclass
class Summary:
    summary: str
    count: int
    lines: list[Line]
    mood: Mood | None = None
    tags: dict[str, str] = field(default_factory=dict)
    level: Literal["low", "high"] = "low"


def test_schema_of_a_nested_dataclass() -> None:
    schema = schema_for(Summary)
    assert schema["type"] == "object"
    assert schema["required"] == ["summary", "count", "lines"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["lines"]["items"]["required"] == ["name"]
    assert schema["properties"]["mood"] == {"anyOf": [{"enum": ["ok", "bad"]}, {"type": "null"}]}
    assert schema["properties"]["level"] == {"enum": ["low", "high"]}
    validate_schema(schema)


def test_the_real_fixture_response_validates_and_decodes() -> None:
    # The agent_message text of fixtures/real/0.169.0/output_schema.jsonl.
    text = '{"summary": "fake", "count": 42}'

    @dataclass
    class Answer:
        summary: str
        count: int

    assert decode_output(text, Answer) == Answer("fake", 42)


def test_decoding_builds_nested_values() -> None:
    value = decode_output(
        '{"summary":"s","count":1,"lines":[{"name":"a","qty":2},{"name":"b"}],"mood":"bad","tags":{"k":"v"}}',
        Summary,
    )
    assert value == Summary("s", 1, [Line("a", 2), Line("b")], Mood.BAD, {"k": "v"})


def test_every_violation_is_listed_with_its_json_pointer() -> None:
    with pytest.raises(StructuredOutputError) as info:
        decode_output('{"summary": 1, "lines": [{"qty": "x"}], "extra/key": true}', Summary)
    pointers = [(v.pointer, v.validator) for v in info.value.violations]
    assert ("", "required") in pointers  # count missing
    assert ("", "additionalProperties") in pointers
    assert ("/summary", "type") in pointers
    assert ("/lines/0", "required") in pointers
    assert ("/lines/0/qty", "type") in pointers
    assert info.value.kind == "structured_output"
    assert info.value.to_dict()["violations"][0]["pointer"] == ""


def test_pointer_escapes_slash_and_tilde() -> None:
    schema = {
        "type": "object",
        "properties": {"a/b": {"type": "object", "properties": {"c~d": {"type": "string"}}}},
    }
    with pytest.raises(StructuredOutputError) as info:
        validate_output('{"a/b": {"c~d": 5}}', schema)
    assert [v.pointer for v in info.value.violations] == ["/a~1b/c~0d"]


def test_text_that_is_not_json_is_a_violation_at_the_root() -> None:
    with pytest.raises(StructuredOutputError) as info:
        validate_output("Sure! Here is your JSON:", {"type": "object"})
    assert info.value.violations[0].pointer == ""
    assert "not valid JSON" in info.value.violations[0].message


@pytest.mark.parametrize("schema", [[], "x", 3, None])
def test_a_schema_must_be_a_plain_object(schema: object) -> None:
    with pytest.raises(InvalidOptionsError, match="outputSchema must be a plain JSON object"):
        validate_schema(schema)


def test_an_invalid_json_schema_is_rejected() -> None:
    with pytest.raises(InvalidOptionsError, match="not a valid JSON Schema"):
        validate_schema({"type": "no-such-type"})


def test_unsupported_annotations_are_rejected() -> None:
    with pytest.raises(InvalidOptionsError, match="unsupported type"):
        schema_for(complex)
