"""The protocol's definitions hold together: schema files, message classes, canonical kinds, capabilities,
portable cases built from the scenario corpus, and the adapter-side dispatcher."""

from __future__ import annotations

import asyncio
import json
from importlib import resources
from pathlib import Path
from typing import Any, get_args

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.reference.appserver.errors as appserver_errors
import harness.reference.errors as reference_errors
import harness.reference.structured_output as structured_output
from harness.adapters import CANONICAL_KINDS, CAPABILITIES, portable_case, required_capabilities
from harness.adapters.client import AdapterClient
from harness.adapters.protocol import (
    SCHEMA_NAMES,
    Implementation,
    Run,
    SchemaName,
    Skipped,
    Start,
    Stop,
    dispatch,
    non_portable_reason,
    result_from_reply,
    schema,
    schema_errors,
)
from harness.scenario import load_all

ROOT = Path(__file__).resolve().parent.parent

OBSERVATION: dict[str, Any] = {"events": [], "result": None, "error": None, "earlier_turns": []}
CASE: dict[str, Any] = {
    "id": "turns/agent_message_run",
    "turns": [{"input": "Say hello", "mode": "run", "turn_options": {}}],
    "codex_options": {"env": {"PATH": "/usr/bin"}},
    "thread_options": {"skip_git_repo_check": True},
    "resume_thread_id": None,
}


def test_schemas_are_shipped_valid_and_distinct() -> None:
    folder = resources.files("harness.adapters").joinpath("schemas")
    shipped = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    assert shipped == sorted(f"{name}.json" for name in SCHEMA_NAMES)
    ids = set()
    assert get_args(SchemaName) == SCHEMA_NAMES
    for name in get_args(SchemaName):
        document = schema(name)
        jsonschema.Draft202012Validator.check_schema(document)
        assert document["$id"].endswith(f"/adapters/v1/{name}.json")
        ids.add(document["$id"])
    assert len(ids) == len(SCHEMA_NAMES)


def test_canonical_kinds_match_schema_and_reference_sdk() -> None:
    enum = schema("observation")["$defs"]["error"]["oneOf"][1]["properties"]["kind"]["enum"]
    assert tuple(enum) == CANONICAL_KINDS
    raised = {
        cls.kind
        for module in (reference_errors, structured_output, appserver_errors)
        for cls in vars(module).values()
        if isinstance(cls, type)
        and issubclass(cls, reference_errors.CodexError)
        and cls is not reference_errors.CodexError
        and cls is not appserver_errors.AppServerError  # the app-server errors' abstract base
    }
    assert raised <= set(CANONICAL_KINDS)
    assert set(CANONICAL_KINDS) - raised == {"unknown"}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("start", Start().to_message()),
        ("stop", Stop().to_message()),
        ("run", Run(3, CASE, "/abs/codex", "/abs/tmp").to_message()),
        ("start-reply", Implementation("sdk", "1.0", "go", "github.com/x/codex", ("run",)).to_reply()),
        ("run-reply", {"seq": 3, "observation": OBSERVATION}),
        ("run-reply", {"seq": 3, "observation": {**OBSERVATION, "telemetry": [{}], "logs": ["x"]}}),
        ("run-reply", {"seq": 3, "skipped": {"reason": "no resume", "issue_url": None}}),
        ("run-reply", {"seq": 3, "skipped": {"reason": "no resume"}}),
        ("run-reply", {"seq": 3, "errored": {"message": "boom", "traceback": "tb", "stderr": None}}),
        ("stop-reply", {"ok": True}),
        (
            "observation",
            {
                "events": ['{"type":"turn.started"}', {"type": "turn.started"}],
                "result": {"thread_id": "t", "final_response": "hi", "items": [{"id": "i"}], "usage": {}},
                "error": {"kind": "turn_failed", "class": "ThreadRunError", "message": "500"},
                "earlier_turns": [{"mode": "run", "events": [], "result": None, "error": None}],
            },
        ),
    ],
)
def test_valid_messages(name: Any, message: dict[str, Any]) -> None:
    assert schema_errors(name, message) == []


@pytest.mark.parametrize(
    ("name", "message", "why"),
    [
        ("start", {"cmd": "start", "version": 2}, "version: 1 was expected"),
        ("run-reply", {"seq": 1}, "(root)"),
        ("run-reply", {"seq": 1, "observation": {**OBSERVATION, "events": "x"}}, "observation/events: 'x' is not"),
        ("run-reply", {"seq": 1, "observation": OBSERVATION, "skipped": {"reason": "x"}}, "(root)"),
        ("run-reply", {"seq": 1, "observation": {**OBSERVATION, "invocations": []}}, "'invocations' was unexpected"),
        ("observation", {**OBSERVATION, "error": {"kind": "boom", "class": "E", "message": ""}}, "error"),
        ("case", {**CASE, "codex_options": {"codex_path_override": "/x"}}, "codex_options"),
        ("case", {**CASE, "thread_options": {"skipGitRepoCheck": True}}, "thread_options"),
        ("stop-reply", {"ok": False}, "ok"),
    ],
)
def test_invalid_messages(name: Any, message: dict[str, Any], why: str) -> None:
    errors = schema_errors(name, message)
    assert errors and why in errors[0]


def test_result_from_reply() -> None:
    observed = result_from_reply({"seq": 1, "observation": OBSERVATION}, adapter_stderr="w")
    assert observed.seq == 1 and observed.adapter_stderr == "w"
    skipped = result_from_reply({"seq": 2, "skipped": {"reason": "r"}})
    assert isinstance(skipped, Skipped) and skipped.seq == 2 and skipped.issue_url is None


def test_required_capabilities() -> None:
    assert required_capabilities(CASE) == {"run"}
    rich = {
        **CASE,
        "resume_thread_id": "t1",
        "turns": [
            {
                "input": [{"type": "text", "text": "a"}, {"type": "local_image", "path": "p.png"}],
                "mode": "streamed",
                "turn_options": {"output_schema": {}, "idle_timeout": 1},
                "thread": "resume",
                "abort_after_ms": 5,
            }
        ],
    }
    assert required_capabilities(rich) == {
        "streamed",
        "resume",
        "local_image",
        "output_schema",
        "idle_timeout",
        "abort",
    }
    assert required_capabilities(rich) <= set(CAPABILITIES)


def test_every_scenario_has_a_valid_portable_case() -> None:
    scenarios = load_all(ROOT / "scenarios")
    assert scenarios
    for scenario in scenarios:
        if non_portable_reason(scenario) is not None:
            continue
        case = portable_case(scenario, env={"HOME": "/h"})
        assert schema_errors("case", case) == [], scenario.id
        assert case["codex_options"]["env"]["HOME"] == "/h"
        assert json.loads(json.dumps(case)) == case


class _Adapter:
    def implementation(self) -> Implementation:
        return Implementation("a", "1", "python", "a", ("run",))

    async def run(self, request: Run) -> dict[str, Any]:
        if request.case["id"] == "bug":
            raise KeyError("oops")
        return {"observation": OBSERVATION}


def test_dispatch() -> None:
    adapter = _Adapter()

    async def main() -> list[dict[str, Any]]:
        return [
            await dispatch(adapter, {"cmd": "start", "version": 1}),
            await dispatch(adapter, Run(1, CASE, "/c", "/w").to_message()),
            await dispatch(adapter, Run(2, {**CASE, "id": "bug"}, "/c", "/w").to_message()),
            await dispatch(adapter, {"cmd": "stop"}),
        ]

    started, ran, bug, stopped = asyncio.run(main())
    assert schema_errors("start-reply", started) == []
    assert ran == {"seq": 1, "observation": OBSERVATION}
    assert schema_errors("run-reply", bug) == [] and bug["seq"] == 2
    assert bug["errored"]["message"] == "KeyError: 'oops'" and "Traceback" in bug["errored"]["traceback"]
    assert stopped == {"ok": True}
    with pytest.raises(ValueError, match="unknown adapter command"):
        asyncio.run(dispatch(adapter, {"cmd": "dialect"}))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64)))
def test_any_reply_line_is_checked_without_raising(line: bytes) -> None:
    names: tuple[SchemaName, ...] = ("start-reply", "run-reply", "stop-reply")
    for name in names:
        checked = AdapterClient._check(line, name)
        assert isinstance(checked, str | dict)


def _doc_examples() -> list[dict[str, Any]]:
    text = (ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")
    blocks = [block.split("```", 1)[0] for block in text.split("```json\n")[1:]]
    return [json.loads(block) for block in blocks]


def test_every_json_example_in_the_docs_is_valid() -> None:
    examples = _doc_examples()
    assert len(examples) >= 7
    for example in examples:
        if "cmd" in example:
            name = example["cmd"]
        elif "implementation" in example:
            name = "start-reply"
        elif "seq" in example:
            name = "run-reply"
        else:
            name = "stop-reply"
        assert schema_errors(name, example) == [], example
