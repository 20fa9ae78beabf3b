"""The fake Responses API server, driven with a plain HTTP client (no codex needed)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import harness.fake.responses as responses_pkg
from harness.fake.responses import (
    FakeResponsesServer,
    Script,
    ScriptedResponder,
    ScriptError,
    parse_script,
)

pytestmark = pytest.mark.usefixtures("no_leaks")

EXEC_TOOLS = [{"type": "function", "name": "exec_command"}, {"type": "custom", "name": "apply_patch"}]


def _body(
    text: str = "hi", tools: list[dict[str, Any]] | None = None, extra_input: list[Any] | None = None
) -> dict[str, Any]:
    user = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"model": "gpt-5.5", "stream": True, "input": [user, *(extra_input or [])], "tools": tools or EXEC_TOOLS}


def _post(server: FakeResponsesServer, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{server.url}/responses",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, _events(response.read().decode())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, (json.loads(exc.read()), dict(exc.headers))


def _events(text: str) -> list[dict[str, Any]]:
    out = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            event = json.loads(lines["data"])
            assert lines["event"] == event["type"]
            out.append(event)
    return out


def _serve(script: list[Any], **kwargs: Any) -> FakeResponsesServer:
    return FakeResponsesServer(ScriptedResponder(parse_script(script)), **kwargs)


def _done_items(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["item"] for e in events if e["type"] == "response.output_item.done"]


def test_all_is_sorted_and_resolves() -> None:
    assert responses_pkg.__all__ == sorted(responses_pkg.__all__)
    for name in responses_pkg.__all__:
        assert getattr(responses_pkg, name) is not None


def test_binds_loopback_and_reports_the_chosen_port() -> None:
    with _serve([{"items": [{"message": "x"}]}]) as server:
        assert server.port > 0
        assert server.url == f"http://127.0.0.1:{server.port}/v1"
        assert server._httpd.server_address[0] == "127.0.0.1"


def test_message_stream_with_usage_details() -> None:
    script = [
        {
            "items": [{"reasoning": "**Plan** it"}, {"message": "Hello"}],
            "usage": {"input": 1000, "output": 50, "cached": 400, "reasoning": 30},
        }
    ]
    with _serve(script) as server:
        status, events = _post(server, _body())
    assert status == 200
    assert [e["type"] for e in events] == [
        "response.created",
        "response.output_item.done",
        "response.output_item.added",
        "response.output_text.delta",
        "response.output_item.done",
        "response.completed",
    ]
    reasoning, message = _done_items(events)
    assert reasoning["summary"] == [{"type": "summary_text", "text": "**Plan** it"}]
    assert message["content"][0]["text"] == "Hello"
    usage = events[-1]["response"]["usage"]
    assert usage == {
        "input_tokens": 1000,
        "input_tokens_details": {"cached_tokens": 400},
        "output_tokens": 50,
        "output_tokens_details": {"reasoning_tokens": 30},
        "total_tokens": 1050,
    }


@pytest.mark.parametrize(
    ("tools", "name", "arguments"),
    [
        ([{"type": "function", "name": "exec_command"}], "exec_command", {"cmd": "echo hi"}),
        ([{"type": "function", "name": "shell_command"}], "shell_command", {"command": "echo hi"}),
        ([{"type": "function", "name": "shell"}], "shell", {"command": ["bash", "-lc", "echo hi"]}),
    ],
)
def test_shell_call_uses_the_tool_the_request_offers(tools: list[dict[str, Any]], name: str, arguments: Any) -> None:
    with _serve([{"items": [{"shell": "echo hi"}]}]) as server:
        _, events = _post(server, _body(tools=tools))
    (call,) = _done_items(events)
    assert call["type"] == "function_call"
    assert call["name"] == name
    assert json.loads(call["arguments"]) == arguments


def test_apply_patch_custom_or_function_tool() -> None:
    patch = "*** Begin Patch\n*** Add File: a.txt\n+a\n*** End Patch\n"
    with _serve([{"items": [{"patch": patch}], "times": 2}]) as server:
        _, custom = _post(server, _body())
        _, function = _post(server, _body(tools=[{"type": "function", "name": "apply_patch"}]))
    assert _done_items(custom)[0] | {"id": "", "call_id": ""} == {
        "type": "custom_tool_call",
        "id": "",
        "call_id": "",
        "name": "apply_patch",
        "input": patch,
        "status": "completed",
    }
    assert json.loads(_done_items(function)[0]["arguments"]) == {"input": patch}


def test_tool_output_placeholder_is_the_last_output() -> None:
    output = {"type": "function_call_output", "call_id": "c1", "output": "Exit code: 0\nOutput:\nhello"}
    with _serve([{"items": [{"message": "Tool said: {tool_output}"}]}]) as server:
        _, events = _post(server, _body(extra_input=[{"type": "function_call"}, output]))
    assert _done_items(events)[0]["content"][0]["text"] == "Tool said: Exit code: 0\nOutput:\nhello"


def test_mcp_tool_call_finds_the_namespace_from_tool_search() -> None:
    searched = {
        "type": "tool_search_output",
        "tools": [{"type": "namespace", "name": "mcp__echo__", "tools": [{"type": "function", "name": "echo"}]}],
    }
    script = [{"items": [{"tool_search": "echo"}]}, {"items": [{"tool_call": "echo", "arguments": {"text": "hi"}}]}]
    with _serve(script) as server:
        _, first = _post(server, _body())
        _, second = _post(server, _body(extra_input=[searched]))
    assert _done_items(first)[0]["type"] == "tool_search_call"
    assert _done_items(first)[0]["arguments"] == {"query": "echo", "limit": 8}
    call = _done_items(second)[0]
    assert (call["namespace"], call["name"], json.loads(call["arguments"])) == ("mcp__echo__", "echo", {"text": "hi"})


def test_plan_web_search_and_schema_message() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string"}, "n": {"type": "integer"}, "e": {"enum": ["x"]}}}
    script = [
        {"items": [{"plan": [{"step": "a", "status": "in_progress"}], "explanation": "why"}]},
        {"items": [{"web_search": "q"}]},
        {"items": [{"schema_message": {}}]},
    ]
    with _serve(script) as server:
        _, plan = _post(server, _body())
        _, search = _post(server, _body())
        body = _body() | {"text": {"format": {"type": "json_schema", "schema": schema}}}
        _, schema_events = _post(server, body)
    call = _done_items(plan)[0]
    assert call["name"] == "update_plan"
    assert json.loads(call["arguments"]) == {"explanation": "why", "plan": [{"step": "a", "status": "in_progress"}]}
    assert _done_items(search)[0]["action"] == {"type": "search", "query": "q"}
    assert json.loads(_done_items(schema_events)[0]["content"][0]["text"]) == {"s": "fake", "n": 42, "e": "x"}


@pytest.mark.parametrize("status", [400, 429, 500])
def test_http_errors_with_body_and_headers(status: int) -> None:
    script = [{"http": status, "body": {"error": {"message": f"fake {status}"}}, "headers": {"retry-after": "0"}}]
    with _serve(script) as server:
        code, (body, headers) = _post(server, _body())
    assert code == status
    assert body == {"error": {"message": f"fake {status}"}}
    assert headers["retry-after"] == "0"


def test_response_failed_cut_and_hang() -> None:
    script = [{"sse_failed": {"code": "server_error", "message": "boom"}}, {"cut": True}, {"hang": 0.2}]
    with _serve(script) as server:
        _, failed = _post(server, _body())
        _, cut = _post(server, _body())
        _, hung = _post(server, _body())
        log = [r["answer"] for r in server.records]
    assert [e["type"] for e in failed] == ["response.created", "response.failed"]
    assert failed[1]["response"]["error"] == {"code": "server_error", "message": "boom"}
    assert [e["type"] for e in cut] == ["response.created"]
    assert [e["type"] for e in hung] == ["response.created"]
    assert log[2]["hang_seconds"] == 0.2


def test_script_is_strict_and_times_repeats() -> None:
    responder = ScriptedResponder(parse_script([{"http": 500, "times": 2}, {"items": [{"message": "ok"}]}]))
    with FakeResponsesServer(responder) as server:
        codes = [_post(server, _body())[0] for _ in range(4)]
    assert codes == [500, 500, 200, 500]
    assert responder.exhausted == 1
    assert (responder.used, responder.expected) == (3, 3)


def test_every_request_is_logged_without_credentials(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with _serve([{"items": [{"message": "x"}]}], log_path=log) as server:
        _post(server, _body("secret prompt"), headers={"Authorization": "Bearer sk-live-123", "originator": "t"})
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["method"] == "POST"
    assert record["path"] == "/v1/responses"
    assert record["headers"]["authorization"] == "Bearer <redacted>"
    assert record["headers"]["originator"] == "t"
    assert "sk-live-123" not in log.read_text()
    assert record["body"]["input"][0]["content"][0]["text"] == "secret prompt"
    assert record["answer"]["status"] == 200


def test_get_models_and_unknown_routes() -> None:
    with _serve([{"items": [{"message": "x"}]}]) as server:
        with urllib.request.urlopen(f"{server.url}/models", timeout=5) as response:
            assert json.loads(response.read()) == {"models": []}
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(f"{server.url}/nothing", timeout=5)
    info.value.close()
    assert info.value.code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"items": []}, "script: must be a list"),
        ([{"items": []}], "script[0].items: a non-empty list"),
        ([{"items": [{"bogus": 1}]}], "unknown item kind 'bogus'"),
        ([{"http": 500, "cut": True}], "one of items, http"),
        ([{"items": [{"message": "x"}], "usage": {"input": -1}}], "usage.input: a non-negative integer"),
        ([{"hang": "long"}], "hang: seconds"),
    ],
)
def test_parse_script_errors_name_the_field(data: Any, message: str) -> None:
    with pytest.raises(ScriptError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_script(data)


def test_script_expanded() -> None:
    script = parse_script([{"cut": True, "times": 3}, [{"message": "x"}]])
    assert isinstance(script, Script)
    assert len(script.expanded()) == 4
