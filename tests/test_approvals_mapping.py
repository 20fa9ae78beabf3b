"""Approval requests and decisions against the real recordings and the app-server schema excerpts.

Ground truth: ``/work/shared/corpus/appserver/<v>/*.jsonl`` (what codex 0.163.0 / 0.171.0 sent and what the client
answered) and ``schema/<v>/*Response.json`` (what codex accepts). Every reply the recordings show must come out of
``to_reply`` byte for byte; every decision valid for a kind must validate against that kind's response schema.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import harness.reference.approvals as approvals
from harness.reference.approvals import (
    KINDS,
    ApprovalRequest,
    ApprovalRequestError,
    CommandApprovalRequest,
    Decision,
    DecisionNotApplicableError,
    FileChangeApprovalRequest,
    InvalidDecisionError,
    McpElicitationRequest,
    NetworkPolicyAmendment,
    PermissionsApprovalRequest,
    decision_from_reply,
    parse_request,
)

CORPUS = Path(
    os.environ.get("CODEX_APPSERVER_CORPUS", str(Path(__file__).resolve().parents[1] / "fixtures" / "appserver"))
)
VERSIONS = ("0.163.0", "0.171.0")

RESPONSE_SCHEMA = {
    "command": "CommandExecutionRequestApprovalResponse",
    "file_change": "FileChangeRequestApprovalResponse",
    "mcp_tool": "McpServerElicitationRequestResponse",
    "mcp_elicitation": "McpServerElicitationRequestResponse",
    "permissions": "PermissionsRequestApprovalResponse",
}

# What the recording client decided, per scenario, written independently of the wire form it sent.
EXPECTED: dict[str, Decision] = {
    "approval_cmd_untrusted_accept": Decision.accept,
    "approval_cmd_untrusted_decline": Decision.decline,
    "approval_cmd_untrusted_cancel": Decision.cancel,
    "approval_cmd_untrusted_acceptForSession": Decision.accept_for_session,
    "approval_cmd_session_twice": Decision.accept_for_session,
    "approval_cmd_accept_twice": Decision.accept,
    "approval_cmd_onrequest_escalate_accept": Decision.accept,
    "approval_cmd_reply_after_interrupt": Decision.accept,
    "approval_patch_accept": Decision.accept,
    "approval_patch_acceptForSession": Decision.accept_for_session,
    "approval_patch_decline": Decision.decline,
    "approval_patch_cancel": Decision.cancel,
    "approval_patch_untrusted_ws": Decision.accept,
    "mcp_tool_call_onrequest_accept": Decision.accept,
    "mcp_tool_call_onrequest_decline": Decision.decline,
    "mcp_elicitation_accept": Decision.accept_with_content({"colour": "green"}),
    "sdk_lowlevel_custom_handler_decline": Decision.decline,
    "sdk_lowlevel_default_handler_untrusted": Decision.accept,
}
# Replies in the recordings that are deliberately *not* decisions (codex fails the item, §4.3).
NOT_DECISIONS = {"approval_cmd_invalid_reply", "mcp_tool_call_onrequest_empty_reply"}


def recordings() -> list[Path]:
    files = [p for v in VERSIONS for p in sorted((CORPUS / v).glob("*.jsonl"))]
    files += [p for v in VERSIONS for p in sorted((CORPUS / v / "sdk").glob("*.jsonl"))]
    assert files, f"no recordings under {CORPUS}"
    return files


def exchanges(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(server request, the client's reply to it or None) for every server request of a recording."""
    messages = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for index, record in enumerate(messages):
        msg = record["msg"]
        if record["dir"] != "s2c" or "method" not in msg or "id" not in msg:
            continue
        reply = next(
            (
                r["msg"]
                for r in messages[index + 1 :]
                if r["dir"] == "c2s" and r["msg"].get("id") == msg["id"] and "method" not in r["msg"]
            ),
            None,
        )
        yield msg, reply


def schema(name: str, version: str) -> jsonschema.protocols.Validator:
    document = json.loads((CORPUS / "schema" / version / f"{name}.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document)


RESPONSE_VALIDATORS = {(kind, v): schema(RESPONSE_SCHEMA[kind], v) for kind in KINDS for v in VERSIONS}


def recorded_requests() -> list[ApprovalRequest]:
    out: list[ApprovalRequest] = []
    for path in recordings():
        for request, _ in exchanges(path):
            parsed = parse_request(request["method"], request["params"])
            if parsed is not None:
                out.append(parsed)
    return out


PERMISSIONS_PARAMS: dict[str, Any] = {
    "threadId": "t-1",
    "turnId": "u-1",
    "itemId": "call_perm",
    "cwd": "/srv/rec/ws",
    "startedAtMs": 1,
    "reason": "needs the network",
    "permissions": {"network": {"enabled": True}, "fileSystem": {"write": ["/srv/rec/out"]}},
    "futureField": {"kept": True},
}


def test_the_permissions_example_is_valid_params() -> None:
    for version in VERSIONS:
        schema("PermissionsRequestApprovalParams", version).validate(PERMISSIONS_PARAMS)


# -- parsing --------------------------------------------------------------------------------------------------


def test_every_recorded_server_request_parses_or_is_left_to_others() -> None:
    seen: dict[str, int] = {}
    for path in recordings():
        for request, _ in exchanges(path):
            parsed = parse_request(request["method"], request["params"])
            if request["method"] in approvals.APPROVAL_METHODS:
                assert parsed is not None, (path.name, request["method"])
                assert dict(parsed.raw) == request["params"]
                seen[parsed.kind] = seen.get(parsed.kind, 0) + 1
            else:
                assert parsed is None, (path.name, request["method"])
    assert set(seen) == {"command", "file_change", "mcp_tool", "mcp_elicitation"}


def test_command_request_fields_match_the_recording() -> None:
    path = CORPUS / "0.171.0" / "approval_cmd_onrequest_escalate_accept.jsonl"
    (params_msg, _), *_ = list(exchanges(path))
    params = params_msg["params"]
    req = parse_request(params_msg["method"], params)
    assert isinstance(req, CommandApprovalRequest)
    assert req.kind == "command" and req.approval_kind == params["kind"]
    assert (req.thread_id, req.turn_id, req.item_id) == (params["threadId"], params["turnId"], params["itemId"])
    assert req.command == params["command"] and req.cwd == params["cwd"] and req.reason == params["reason"]
    assert req.started_at_ms == params["startedAtMs"] and req.environment_id == params["environmentId"]
    assert req.proposed_execpolicy_amendment == tuple(params["proposedExecpolicyAmendment"])
    assert req.available_decisions == (
        Decision.accept,
        Decision.with_execpolicy_amendment(params["proposedExecpolicyAmendment"]),
        Decision.cancel,
    )
    assert req.script == "touch escalated.txt"
    assert req.argv == ("touch", "escalated.txt") and not req.is_compound
    assert [dict(a) for a in req.command_actions] == params["commandActions"]


def test_unknown_fields_and_decisions_are_kept_in_raw() -> None:
    params = {
        "threadId": "t",
        "turnId": "u",
        "itemId": "i",
        "startedAtMs": 5,
        "command": "ls",
        "availableDecisions": ["accept", {"someFutureDecision": {}}, "decline"],
        "brandNew": [1, 2],
    }
    req = parse_request("item/commandExecution/requestApproval", params)
    assert isinstance(req, CommandApprovalRequest)
    assert req.available_decisions == (Decision.accept, Decision.decline)
    assert req.raw["brandNew"] == [1, 2]
    assert req.raw["availableDecisions"][1] == {"someFutureDecision": {}}


def test_file_change_takes_its_changes_from_item_started() -> None:
    path = CORPUS / "0.171.0" / "approval_patch_accept.jsonl"
    lines = [json.loads(x)["msg"] for x in path.read_text(encoding="utf-8").splitlines()]
    started = next(
        m for m in lines if m.get("method") == "item/started" and m["params"]["item"]["type"] == "fileChange"
    )
    request = next(m for m in lines if m.get("method") == "item/fileChange/requestApproval")
    bare = parse_request(request["method"], request["params"])
    assert isinstance(bare, FileChangeApprovalRequest) and bare.changes is None and bare.paths == ()
    full = parse_request(request["method"], request["params"], item=started["params"]["item"])
    assert isinstance(full, FileChangeApprovalRequest)
    assert full.item_id == started["params"]["item"]["id"]
    assert full.paths == ("/srv/rec/ws/hello.txt",)
    assert full.changes is not None and full.changes[0].change_type == "add"
    assert full.changes[0].diff == "hello world\n"
    assert full.reason is None and full.grant_root is None


def test_mcp_tool_approval_versus_plain_elicitation() -> None:
    for version in VERSIONS:
        (tool_msg, _), *_ = list(exchanges(CORPUS / version / "mcp_tool_call_onrequest_accept.jsonl"))
        tool = parse_request(tool_msg["method"], tool_msg["params"])
        assert isinstance(tool, McpElicitationRequest)
        assert tool.kind == "mcp_tool" and tool.is_tool_approval
        assert tool.tool_name == "echo"  # 0.163.0 has no _meta.tool_name: read from the message
        assert tool.tool_params == {"text": "hi"} and tool.persist_options == ("session", "always")
        assert tool.item_id is None and tool.server_name == "echo" and tool.mode == "form"
        (form_msg, _), *_ = list(exchanges(CORPUS / version / "mcp_elicitation_accept.jsonl"))
        form = parse_request(form_msg["method"], form_msg["params"])
        assert isinstance(form, McpElicitationRequest)
        assert form.kind == "mcp_elicitation" and not form.is_tool_approval and form.tool_name is None
        assert form.requested_schema == form_msg["params"]["requestedSchema"]


def test_permissions_request_parses() -> None:
    req = parse_request("item/permissions/requestApproval", PERMISSIONS_PARAMS)
    assert isinstance(req, PermissionsApprovalRequest) and req.kind == "permissions"
    assert dict(req.permissions) == PERMISSIONS_PARAMS["permissions"] and req.cwd == "/srv/rec/ws"
    assert req.raw["futureField"] == {"kept": True}


@pytest.mark.parametrize(
    ("method", "params", "field"),
    [
        ("item/commandExecution/requestApproval", None, "params"),
        ("item/commandExecution/requestApproval", {"threadId": "t", "turnId": "u"}, "itemId"),
        ("item/commandExecution/requestApproval", {"threadId": "t", "turnId": "u", "itemId": 3}, "itemId"),
        (
            "item/commandExecution/requestApproval",
            {"threadId": "t", "turnId": "u", "itemId": "i", "command": 1},
            "command",
        ),
        (
            "item/fileChange/requestApproval",
            {"threadId": "t", "turnId": "u", "itemId": "i", "startedAtMs": "x"},
            "startedAtMs",
        ),
        ("mcpServer/elicitation/request", {"threadId": "t"}, "serverName"),
        ("mcpServer/elicitation/request", {"threadId": "t", "serverName": "s", "_meta": []}, "_meta"),
        ("item/permissions/requestApproval", {"threadId": "t", "turnId": "u", "itemId": "i"}, "permissions"),
    ],
)
def test_malformed_params_raise_a_located_error(method: str, params: Any, field: str) -> None:
    with pytest.raises(ApprovalRequestError) as info:
        parse_request(method, params)
    assert info.value.field == field and info.value.method == method
    assert str(info.value).startswith(f"{method}: {field}: ")
    assert info.value.to_dict()["kind"] == "approval_request"


# -- the replies of the recordings ----------------------------------------------------------------------------


def test_to_reply_reproduces_every_recorded_decision_exactly() -> None:
    covered: set[str] = set()
    for path in recordings():
        for request, reply in exchanges(path):
            parsed = parse_request(request["method"], request["params"])
            if parsed is None or reply is None or "result" not in reply:
                continue
            if path.stem in NOT_DECISIONS:
                assert decision_from_reply(parsed.kind, reply["result"]) is None, path.name
                continue
            assert path.stem in EXPECTED, f"recording {path} has a reply this test does not know"
            decision = EXPECTED[path.stem]
            produced = decision.to_reply(parsed)
            # exactly: same value *and* same key order as the recorded line
            assert json.dumps(produced) == json.dumps(reply["result"]), path.name
            assert decision_from_reply(parsed.kind, reply["result"]) == decision
            covered.add(path.stem)
    assert covered == set(EXPECTED)


def test_the_mapping_table() -> None:
    cmd = CommandApprovalRequest("t", "u", "i", command="ls")
    patch = FileChangeApprovalRequest("t", "u", "i")
    tool = McpElicitationRequest("t", "echo", meta={"codex_approval_kind": "mcp_tool_call"})
    form = McpElicitationRequest("t", "echo", meta=None)
    perms = parse_request("item/permissions/requestApproval", PERMISSIONS_PARAMS)
    assert perms is not None
    amendment = Decision.with_execpolicy_amendment(["touch", "a.txt"])
    network = Decision.with_network_policy_amendment("example.com", "deny")
    assert cmd.reply(Decision.accept) == {"decision": "accept"}
    assert cmd.reply(Decision.accept_for_session) == {"decision": "acceptForSession"}
    assert cmd.reply(Decision.decline) == {"decision": "decline"}
    assert cmd.reply(Decision.cancel) == {"decision": "cancel"}
    assert cmd.reply(amendment) == {
        "decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": ["touch", "a.txt"]}}
    }
    assert cmd.reply(network) == {
        "decision": {
            "applyNetworkPolicyAmendment": {"network_policy_amendment": {"host": "example.com", "action": "deny"}}
        }
    }
    assert patch.reply(Decision.accept_for_session) == {"decision": "acceptForSession"}
    assert tool.reply(Decision.accept) == {"action": "accept", "content": None}
    assert tool.reply(Decision.accept_for_session) == {
        "action": "accept",
        "content": None,
        "_meta": {"persist": "session"},
    }
    assert tool.reply(Decision.decline) == {"action": "decline", "content": None}
    assert tool.reply(Decision.cancel) == {"action": "cancel", "content": None}
    assert form.reply(Decision.accept_with_content({"colour": "red"}, meta={"x": 1})) == {
        "action": "accept",
        "content": {"colour": "red"},
        "_meta": {"x": 1},
    }
    assert form.reply(Decision.decline) == {"action": "decline", "content": None}
    assert perms.reply(Decision.accept) == {"permissions": PERMISSIONS_PARAMS["permissions"], "scope": "turn"}
    assert perms.reply(Decision.accept_for_session)["scope"] == "session"
    assert perms.reply(Decision.decline) == {"permissions": {}, "scope": "turn"}
    subset = {"network": {"enabled": True}}
    assert perms.reply(Decision.grant_permissions(subset)) == {"permissions": subset, "scope": "turn"}


@pytest.mark.parametrize(
    ("request_", "decision"),
    [
        (FileChangeApprovalRequest("t", "u", "i"), Decision.with_execpolicy_amendment(["ls"])),
        (FileChangeApprovalRequest("t", "u", "i"), Decision.with_network_policy_amendment("h")),
        (FileChangeApprovalRequest("t", "u", "i"), Decision.accept_with_content({"a": 1})),
        (CommandApprovalRequest("t", "u", "i"), Decision.accept_with_content({"a": 1})),
        (CommandApprovalRequest("t", "u", "i"), Decision.grant_permissions({})),
        (CommandApprovalRequest("t", "u", "i", approval_kind="humanCommand"), Decision.accept_for_session),
        (McpElicitationRequest("t", "s"), Decision.accept_for_session),
        (McpElicitationRequest("t", "s"), Decision.with_execpolicy_amendment(["ls"])),
        (PermissionsApprovalRequest("t", "u", "i", permissions={}), Decision.cancel),
        (PermissionsApprovalRequest("t", "u", "i", permissions={}), Decision.with_meta("accept", {"a": 1})),
    ],
)
def test_a_decision_that_makes_no_sense_for_a_kind_raises(request_: ApprovalRequest, decision: Decision) -> None:
    with pytest.raises(DecisionNotApplicableError) as info:
        decision.to_reply(request_)
    assert info.value.request_kind == request_.kind and info.value.verdict == decision.verdict
    assert info.value.to_dict()["kind"] == "decision_not_applicable"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Decision("approve"),  # type: ignore[arg-type]
        lambda: Decision("execpolicy_amendment"),
        lambda: Decision("accept", execpolicy_amendment=("ls",)),
        lambda: Decision.with_execpolicy_amendment("ls"),
        lambda: Decision("network_policy_amendment"),
        lambda: Decision("decline", content={"a": 1}),
        lambda: Decision("execpolicy_amendment", execpolicy_amendment=("ls",), meta={"a": 1}),
        lambda: Decision("decline", permissions={}),
        lambda: NetworkPolicyAmendment("", "allow"),
        lambda: NetworkPolicyAmendment("h", "maybe"),  # type: ignore[arg-type]
    ],
)
def test_contradictory_decisions_cannot_be_built(build: Any) -> None:
    with pytest.raises(InvalidDecisionError):
        build()


def test_decisions_are_values() -> None:
    a = Decision.accept_with_content({"k": [1, 2]}, meta={"m": "x"})
    b = Decision.accept_with_content({"k": [1, 2]}, meta={"m": "x"})
    assert a == b and hash(a) == hash(b) and len({a, b, Decision.accept}) == 2
    assert Decision.with_execpolicy_amendment(["a", "b"]).execpolicy_amendment == ("a", "b")
    assert Decision.with_network_policy_amendment("h", "deny").accepts is False
    assert Decision.with_network_policy_amendment("h", "allow").accepts is True
    assert [d.accepts for d in (Decision.accept, Decision.accept_for_session, Decision.decline, Decision.cancel)] == [
        True,
        True,
        False,
        False,
    ]
    assert a.to_dict() == {"verdict": "accept", "content": {"k": [1, 2]}, "meta": {"m": "x"}}


# -- every valid decision validates against the schema ----------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
_meta = st.dictionaries(st.text(max_size=6).filter(lambda k: k != "persist"), _json, max_size=3)
_grant = st.fixed_dictionaries(
    {},
    optional={
        "network": st.fixed_dictionaries({"enabled": st.booleans() | st.none()}),
        "fileSystem": st.fixed_dictionaries({"write": st.lists(st.text(min_size=1, max_size=8), max_size=2)}),
    },
)
_simple: st.SearchStrategy[Any] = st.sampled_from(("accept", "accept_for_session", "decline", "cancel"))
decisions = st.one_of(
    _simple.map(lambda verdict: Decision(verdict)),
    st.lists(st.text(max_size=8), max_size=4).map(Decision.with_execpolicy_amendment),
    st.builds(
        Decision.with_network_policy_amendment, st.text(min_size=1, max_size=12), st.sampled_from(["allow", "deny"])
    ),
    st.builds(Decision.accept_with_content, _json.filter(lambda v: v is not None), meta=st.none() | _meta),
    st.builds(Decision.with_meta, _simple, _meta),
    st.builds(Decision.grant_permissions, _grant, for_session=st.booleans()),
)
REQUESTS: list[ApprovalRequest] = recorded_requests() + [
    CommandApprovalRequest("t", "u", "i", approval_kind="humanCommand"),
    parse_request("item/permissions/requestApproval", PERMISSIONS_PARAMS),  # type: ignore[list-item]
]


def expected_valid(decision: Decision, request: ApprovalRequest) -> bool:
    """The mapping table of docs/approvals.md, restated independently of the implementation."""
    kind, verdict = request.kind, decision.verdict
    if decision.content is not None and not (kind in ("mcp_tool", "mcp_elicitation") and verdict == "accept"):
        return False
    if decision.meta is not None and kind not in ("mcp_tool", "mcp_elicitation"):
        return False
    if decision.permissions is not None and kind != "permissions":
        return False
    table: dict[str, set[str]] = {
        "command": set(approvals.VERDICTS),
        "file_change": {"accept", "accept_for_session", "decline", "cancel"},
        "mcp_tool": {"accept", "accept_for_session", "decline", "cancel"},
        "mcp_elicitation": {"accept", "decline", "cancel"},
        "permissions": {"accept", "accept_for_session", "decline"},
    }
    allowed = table[kind]
    if isinstance(request, CommandApprovalRequest) and request.approval_kind == "humanCommand":
        allowed = {"accept", "decline", "cancel"}
    return verdict in allowed


@settings(max_examples=300, deadline=None)
@given(decision=decisions, request=st.sampled_from(REQUESTS))
def test_every_applicable_decision_produces_a_schema_valid_reply(decision: Decision, request: ApprovalRequest) -> None:
    if not expected_valid(decision, request):
        with pytest.raises(DecisionNotApplicableError):
            decision.to_reply(request)
        return
    reply = decision.to_reply(request)
    json.dumps(reply)  # plain JSON, no mapping proxies
    for version in VERSIONS:
        RESPONSE_VALIDATORS[(request.kind, version)].validate(reply)
    if request.kind != "permissions":
        assert decision_from_reply(request.kind, reply) == decision


def test_decision_from_reply_rejects_what_codex_rejects() -> None:
    assert decision_from_reply("command", {}) is None
    assert decision_from_reply("command", {"decision": "approve"}) is None
    assert decision_from_reply("command", {"decision": "accept", "extra": 1}) is None
    assert (
        decision_from_reply(
            "file_change", {"decision": {"acceptWithExecpolicyAmendment": {"execpolicy_amendment": []}}}
        )
        is None
    )
    assert decision_from_reply("mcp_tool", {}) is None
    assert decision_from_reply("permissions", {"permissions": {}}) == Decision.decline
    assert decision_from_reply("permissions", {"permissions": {"network": {"enabled": True}}, "scope": "session"}) == (
        Decision.grant_permissions({"network": {"enabled": True}}, for_session=True)
    )
