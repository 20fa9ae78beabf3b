"""Reply classification and the schema check: the in-package validator agrees with ``jsonschema`` on the
response schemas, and the copied schemas are the corpus' own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from harness.fake.appserver import ReplyKind, judge_reply
from harness.fake.appserver._schema import SchemaValidator, UnsupportedSchemaError
from harness.fake.appserver.replies import RESPONSE_SCHEMAS

SCHEMAS = Path(__file__).resolve().parent.parent / "harness" / "fake" / "appserver" / "schemas"
CORPUS_SCHEMAS = (Path(__file__).resolve().parents[1] / "fixtures" / "appserver/schema")

SAMPLES: list[Any] = [
    {}, {"decision": "accept"}, {"decision": "acceptForSession"}, {"decision": "decline"}, {"decision": "cancel"},
    {"decision": "approve"}, {"decision": "approved"}, {"decision": "denied"}, {"decision": 1}, {"decision": None},
    {"decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "x"]}}},
    {"decision": {"acceptWithExecpolicyAmendment": {}}},
    {"decision": {"applyNetworkPolicyAmendment": {"network_policy_amendment": {"host": "h", "action": "allow"}}}},
    {"decision": {"applyNetworkPolicyAmendment": {"network_policy_amendment": {"host": "h", "action": "maybe"}}}},
    {"decision": {"denied": {"rejection": "no"}}}, {"decision": "timed_out"},
    {"contentItems": [{"type": "inputText", "text": "Sunny"}], "success": True},
    {"contentItems": [{"type": "inputImage", "imageUrl": "data:"}], "success": False},
    {"contentItems": [{"type": "inputText"}], "success": True}, {"contentItems": [], "success": "yes"},
    {"contentItems": "x", "success": True}, {"success": True},
    {"action": "accept", "content": None}, {"action": "accept", "content": {"colour": "green"}, "_meta": {}},
    {"action": "maybe"}, {"content": None},
    {"answers": {"colour": {"answers": ["Green"]}}}, {"answers": {"colour": {"answers": [1]}}},
    {"answers": {"colour": {}}}, {"answers": []}, [], "accept", None, 3,
]


@pytest.mark.parametrize("method", sorted(RESPONSE_SCHEMAS))
def test_validator_agrees_with_jsonschema_on_samples(method: str) -> None:
    schema = json.loads((SCHEMAS / RESPONSE_SCHEMAS[method]).read_text())
    ours, theirs = SchemaValidator(schema), Draft7Validator(schema)
    for sample in SAMPLES:
        assert ours.is_valid(sample) == theirs.is_valid(sample), (method, sample)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(
        ["accept", "decline", "cancel", "acceptForSession", "approved", "inputText", "allow", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["decision", "contentItems", "success", "type", "text", "action", "content", "answers", "colour",
         "acceptWithExecpolicyAmendment", "execpolicy_amendment", "host", "imageUrl"]), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(value=_json, method=st.sampled_from(sorted(RESPONSE_SCHEMAS)))
def test_validator_agrees_with_jsonschema_on_generated_values(value: Any, method: str) -> None:
    schema = json.loads((SCHEMAS / RESPONSE_SCHEMAS[method]).read_text())
    assert SchemaValidator(schema).is_valid(value) == Draft7Validator(schema).is_valid(value)


@pytest.mark.parametrize("version", ["0.171.0", "0.163.0"])
def test_packaged_schemas_are_the_corpus_schemas(version: str) -> None:
    for name in RESPONSE_SCHEMAS.values():
        assert (SCHEMAS / name).read_bytes() == (CORPUS_SCHEMAS / version / name).read_bytes(), name


def test_unsupported_schema_keywords_are_refused() -> None:
    with pytest.raises(UnsupportedSchemaError):
        SchemaValidator({"type": "string", "pattern": "^a"})
    with pytest.raises(UnsupportedSchemaError):
        SchemaValidator({"$ref": "http://example.com/x"}).is_valid(1)


@pytest.mark.parametrize(
    ("method", "msg", "kind", "valid"),
    [
        ("item/commandExecution/requestApproval", {"id": 0, "result": {"decision": "decline"}}, ReplyKind.RESULT, True),
        ("item/commandExecution/requestApproval", {"id": 0, "result": {"decision": "nope"}}, ReplyKind.RESULT, False),
        ("item/commandExecution/requestApproval", {"id": 0, "result": {}}, ReplyKind.EMPTY, False),
        ("item/tool/call", {"id": 0, "result": {}}, ReplyKind.EMPTY, False),
        ("mcpServer/elicitation/request", {"id": 0, "result": {}}, ReplyKind.EMPTY, False),
        ("item/fileChange/requestApproval", {"id": 0, "error": {"code": -32000, "message": "x"}}, ReplyKind.ERROR,
         True),
        ("item/fileChange/requestApproval", {"id": 0, "error": "x"}, ReplyKind.ERROR, False),
        ("item/fileChange/requestApproval", None, ReplyKind.NO_REPLY, True),
        ("codex/futureRequest", {"id": 0, "result": {"anything": 1}}, ReplyKind.RESULT, True),
    ],
)
def test_judge_reply(method: str, msg: Any, kind: ReplyKind, valid: bool) -> None:
    verdict = judge_reply(method, msg)
    assert verdict.kind is kind and verdict.valid is valid
    assert verdict.checked is (method in RESPONSE_SCHEMAS and kind in (ReplyKind.RESULT, ReplyKind.EMPTY))
