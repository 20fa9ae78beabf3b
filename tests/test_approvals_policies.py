"""Built-in policies, routing by command and path, resolve() (sync/async, abstention, timeouts, exceptions) and the
exec-mode mapping."""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
import threading
from collections.abc import Iterator
from typing import Any

import pytest

import harness.reference.approvals as approvals
from harness.reference.approvals import (
    Abstain,
    AllOf,
    AllowAll,
    Always,
    AnyOf,
    ApprovalRequest,
    ByCommand,
    ByKind,
    ByPath,
    Callback,
    CommandApprovalRequest,
    Decision,
    DenyAll,
    ExecApprovalPolicyError,
    Fallback,
    FileChangeApprovalRequest,
    FirstMatch,
    InvalidDecisionError,
    InvalidPolicyError,
    McpElicitationRequest,
    PathGlob,
    PermissionsApprovalRequest,
    WithTimeout,
    evaluate,
    exec_approval_policy,
    resolve,
)
from harness.reference.telemetry import TelemetryBus, TelemetryEvent, correlation


def command(cmd: str | None, **kw: Any) -> CommandApprovalRequest:
    return CommandApprovalRequest("thr", "turn", "call_1", command=cmd, **kw)


def patch(*paths: str) -> FileChangeApprovalRequest:
    item = {"id": "call_2", "changes": [{"path": p, "kind": {"type": "add"}, "diff": "x\n"} for p in paths]}
    return FileChangeApprovalRequest("thr", "turn", "call_2").with_item(item)


TOOL = McpElicitationRequest("thr", "echo", turn_id="turn", meta={"codex_approval_kind": "mcp_tool_call"})
FORM = McpElicitationRequest("thr", "echo", turn_id="turn", message="Which colour?")
PERMS = PermissionsApprovalRequest("thr", "turn", "call_3", permissions={"network": {"enabled": True}})


def run(policy: Any, request: ApprovalRequest) -> Decision | None:
    return asyncio.run(evaluate(policy, request))


@pytest.fixture
def events() -> Iterator[tuple[TelemetryBus, list[TelemetryEvent]]]:
    bus = TelemetryBus()
    seen: list[TelemetryEvent] = []
    bus.subscribe(seen.append)
    yield bus, seen


def names(seen: list[TelemetryEvent]) -> list[str]:
    return [e.name for e in seen]


# -- leaves ------------------------------------------------------------------------------------------------------


def test_constant_policies() -> None:
    for request in (command("ls"), patch("/a"), TOOL, FORM, PERMS):
        assert run(AllowAll(), request) == Decision.accept
        assert run(DenyAll(), request) == Decision.decline
        assert run(Abstain(), request) is None
        assert run(Always(Decision.cancel), request) == Decision.cancel
    with pytest.raises(InvalidPolicyError):
        Always("accept")  # type: ignore[arg-type]


def test_callback_sync_and_async() -> None:
    calls: list[str] = []

    def sync_fn(request: ApprovalRequest) -> Decision:
        calls.append(request.kind)
        return Decision.accept_for_session

    async def async_fn(request: ApprovalRequest) -> Decision | None:
        await asyncio.sleep(0)
        calls.append("async:" + request.kind)
        return None if request.kind == "file_change" else Decision.cancel

    assert run(Callback(sync_fn), command("ls")) == Decision.accept_for_session
    assert run(Callback(async_fn), command("ls")) == Decision.cancel
    assert run(Callback(async_fn), patch("/a")) is None
    assert calls == ["command", "async:command", "async:file_change"]
    with pytest.raises(InvalidPolicyError):
        Callback("nope")  # type: ignore[arg-type]


def test_a_policy_returning_garbage_is_an_error_not_a_guess() -> None:
    with pytest.raises(InvalidDecisionError, match="returned str"):
        run(Callback(lambda r: "accept"), command("ls"))  # type: ignore[arg-type,return-value]


def test_by_kind_routes_and_validates() -> None:
    policy = ByKind({"command": AllowAll(), "mcp_tool": Always(Decision.cancel)}, default=DenyAll())
    assert run(policy, command("ls")) == Decision.accept
    assert run(policy, TOOL) == Decision.cancel
    assert run(policy, FORM) == Decision.decline
    assert run(ByKind({"command": AllowAll()}), PERMS) is None
    with pytest.raises(InvalidPolicyError, match="unknown kind"):
        ByKind({"shell": AllowAll()})
    with pytest.raises(InvalidPolicyError, match="not an approval policy"):
        ByKind({"command": "allow"})  # type: ignore[dict-item]


# -- ByCommand -------------------------------------------------------------------------------------------------


def test_by_command_matches_the_script_inside_codexs_wrapper() -> None:
    policy = ByCommand({("touch", "*"): AllowAll(), "rm *": Always(Decision.cancel)}, default=DenyAll())
    assert run(policy, command("/bin/bash -lc 'touch approved.txt'")) == Decision.accept
    assert run(policy, command("/bin/bash -lc 'touch a b'")) == Decision.decline  # argv length differs
    assert run(policy, command("/bin/bash -lc 'rm -rf build'")) == Decision.cancel
    assert run(policy, command("ls")) == Decision.decline
    assert run(policy, command(None)) == Decision.decline
    assert run(policy, patch("/a")) is None
    assert run(ByCommand({"ls": AllowAll()}), command("pwd")) is None


def test_by_command_never_matches_a_compound_script_unless_allowed() -> None:
    risky = [
        "touch a.txt; rm -rf ~",
        "touch a.txt && curl evil",
        "touch a.txt | sh",
        "touch a.txt > /etc/passwd",
        "touch $(rm -rf ~)",
        'touch "$(rm -rf ~)"',
        "touch `rm -rf ~`",
        "touch a.txt\nrm -rf ~",
        "touch 'unbalanced",
    ]
    strict = ByCommand({"touch *": AllowAll(), ("touch", "**"): AllowAll()}, default=DenyAll())
    loose = ByCommand({"touch *": AllowAll()}, default=DenyAll(), allow_compound=True)
    for script in risky:
        wrapped = "/bin/bash -lc " + shlex.quote(script)
        assert run(strict, command(wrapped)) == Decision.decline, script
        assert run(strict, command(script)) == Decision.decline, script
    assert run(loose, command("touch a.txt; rm -rf ~")) == Decision.accept
    assert run(strict, command("touch 'a;b.txt'")) == Decision.accept  # quoted: one word, not an operator


def test_by_command_regex_globs_and_argv_rest() -> None:
    policy = ByCommand(
        [
            (re.compile(r"git (status|diff)( .*)?"), AllowAll()),
            (("npm", "test", "**"), Always(Decision.accept_for_session)),
            ("/bin/bash -lc *", Always(Decision.cancel)),
        ]
    )
    assert run(policy, command("/bin/bash -lc 'git status --short'")) == Decision.accept
    assert run(policy, command("git diff")) == Decision.accept
    assert run(policy, command("git push")) is None
    assert run(policy, command("npm test")) == Decision.accept_for_session
    assert run(policy, command("npm test -- --watch")) == Decision.accept_for_session
    assert run(policy, command("/bin/bash -lc 'make'")) == Decision.cancel  # matched on the full command
    for bad in (42, ("**", "x"), (), re.compile(b"x")):
        with pytest.raises(InvalidPolicyError):
            ByCommand({bad: AllowAll()})


# -- ByPath ----------------------------------------------------------------------------------------------------


def test_path_globs() -> None:
    assert PathGlob.compile("*.txt").matches("/srv/rec/ws/hello.txt")
    assert not PathGlob.compile("*.txt").matches("/srv/rec/ws/hello.txt.bak")
    assert PathGlob.compile("/srv/rec/ws/**").matches("/srv/rec/ws/a/b/c.py")
    assert not PathGlob.compile("/srv/rec/ws/*").matches("/srv/rec/ws/a/b.py")
    assert PathGlob.compile("/srv/rec/ws/*").matches("/srv/rec/ws/b.py")
    assert PathGlob.compile("src/**/test_?.py").matches("/x/src/test_a.py")
    assert PathGlob.compile("src/**/test_?.py").matches("/x/src/a/b/test_b.py")
    assert not PathGlob.compile("hello.txt").matches("/x/ohello.txt")
    assert PathGlob.compile("[!.]*.md").matches("/d/README.md") and not PathGlob.compile("[!.]*.md").matches("/d/.x.md")
    assert not PathGlob.compile("/srv/rec/ws/**").matches("/srv/rec/ws/../../etc/passwd")
    with pytest.raises(InvalidPolicyError):
        PathGlob.compile("")


def test_by_path_routes_file_changes() -> None:
    policy = ByPath({"/srv/rec/ws/**": AllowAll(), "*.lock": DenyAll(), "/etc/**": Always(Decision.cancel)})
    assert run(policy, patch("/srv/rec/ws/hello.txt")) == Decision.accept
    assert run(policy, patch("/etc/hosts")) == Decision.cancel
    assert run(policy, patch("/srv/rec/ws/a.txt", "/etc/hosts")) == Decision.cancel  # spread: unanimous
    assert run(policy, patch("/srv/rec/ws/a.txt", "/srv/rec/ws/b.txt")) == Decision.accept
    assert run(policy, patch("/srv/rec/ws/a.txt", "/home/x")) is None  # one path uncovered
    assert run(policy, FileChangeApprovalRequest("thr", "turn", "call_2")) is None  # changes unknown
    assert run(policy, command("ls")) is None
    with_default = ByPath({"/srv/rec/ws/**": AllowAll()}, default=DenyAll())
    assert run(with_default, patch("/home/x")) == Decision.decline
    assert run(with_default, FileChangeApprovalRequest("thr", "turn", "call_2")) == Decision.decline
    moved = FileChangeApprovalRequest("t", "u", "i").with_item(
        {"changes": [{"path": "/srv/rec/ws/a", "kind": {"type": "update", "move_path": "/etc/a"}, "diff": ""}]}
    )
    assert moved.paths == ("/srv/rec/ws/a", "/etc/a")
    assert run(policy, moved) == Decision.cancel


# -- resolve ---------------------------------------------------------------------------------------------------


def test_resolve_passes_a_valid_decision_through(events: Any) -> None:
    bus, seen = events
    with correlation("cid-approvals"):
        decision = asyncio.run(resolve(Always(Decision.accept_for_session), command("ls"), bus=bus, request_id=7))
    assert decision == Decision.accept_for_session
    assert names(seen) == ["codex.approval.requested", "codex.approval.decided"]
    decided = seen[-1]
    assert decided.correlation_id == "cid-approvals" and seen[0].correlation_id == "cid-approvals"
    assert decided.metadata["decision"] == "accept_for_session" and decided.metadata["source"] == "policy"
    assert decided.metadata["kind"] == "command" and decided.metadata["request_id"] == 7
    assert decided.metadata["item_id"] == "call_1" and decided.metadata["accepted"] is True
    assert isinstance(decided.measurements["latency_ms"], float) and decided.measurements["latency_ms"] >= 0
    assert set(approvals.APPROVAL_EVENT_NAMES) >= set(names(seen))


def test_abstaining_everywhere_declines(events: Any) -> None:
    bus, seen = events
    assert asyncio.run(resolve(FirstMatch(Abstain(), ByKind({})), TOOL, bus=bus)) == Decision.decline
    assert seen[-1].metadata["source"] == "abstained"
    custom = asyncio.run(resolve(Abstain(), command("ls"), bus=bus, on_abstain=Decision.cancel))
    assert custom == Decision.cancel


class Boom(RuntimeError):
    pass


def raising_sync(request: ApprovalRequest) -> Decision:
    raise Boom("policy exploded; token=sk-abcdefghijklmnop and Bearer abcdefghijkl")


async def raising_async(request: ApprovalRequest) -> Decision:
    await asyncio.sleep(0)
    raise Boom("async policy exploded")


@pytest.mark.parametrize("fn", [raising_sync, raising_async])
def test_a_raising_policy_yields_decline_and_a_logged_error(
    fn: Any, events: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bus, seen = events
    with caplog.at_level(logging.ERROR, logger="harness.reference.approvals"):
        decision = asyncio.run(resolve(Callback(fn), command("ls"), bus=bus, request_id=0))
    assert decision == Decision.decline
    assert names(seen) == ["codex.approval.requested", "codex.approval.failed", "codex.approval.decided"]
    failed = seen[1]
    assert failed.metadata["error_type"] == "Boom" and failed.metadata["handled_by"] == "resolve"
    assert failed.metadata["decision"] == "decline"
    assert seen[-1].metadata["source"] == "error" and seen[-1].metadata["failures"] == 1
    records = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert records and "Boom" in records[0].getMessage()
    logged = caplog.text
    assert "sk-abcdefghijklmnop" not in logged and "abcdefghijkl" not in logged.replace("sk-", "")
    assert all("sk-abcdef" not in repr(e.to_dict()) for e in seen)


def test_a_decision_the_kind_cannot_express_is_declined(events: Any) -> None:
    bus, seen = events
    policy = Always(Decision.with_execpolicy_amendment(["touch", "x"]))
    assert asyncio.run(resolve(policy, patch("/a"), bus=bus)) == Decision.decline
    assert seen[1].name == "codex.approval.failed" and seen[1].metadata["error_type"] == "DecisionNotApplicableError"
    # a fallback that does not fit the kind is no way around it either
    assert asyncio.run(resolve(Abstain(), FORM, bus=bus, on_abstain=Decision.accept_for_session)) == Decision.decline


def test_timeout_of_an_async_policy_gives_the_default(events: Any) -> None:
    bus, seen = events
    finished: list[bool] = []

    async def never(request: ApprovalRequest) -> Decision:
        try:
            await asyncio.Event().wait()
        finally:
            finished.append(True)  # cancelled at the deadline, not left running
        return Decision.accept

    decision = asyncio.run(resolve(WithTimeout(Callback(never), 0.05, Decision.cancel), command("ls"), bus=bus))
    assert decision == Decision.cancel and finished == [True]
    assert names(seen) == ["codex.approval.requested", "codex.approval.timed_out", "codex.approval.decided"]
    assert seen[1].measurements["timeout_ms"] == 50.0 and seen[1].metadata["decision"] == "cancel"
    assert seen[-1].metadata["source"] == "timeout" and seen[-1].metadata["timed_out"] is True


def test_timeout_of_a_blocking_sync_policy_gives_the_default(events: Any) -> None:
    bus, seen = events
    release = threading.Event()
    done = threading.Event()

    def blocking(request: ApprovalRequest) -> Decision:
        release.wait(10)
        done.set()
        return Decision.accept

    try:
        decision = asyncio.run(resolve(Callback(blocking), command("ls"), bus=bus, timeout=0.05))
        assert decision == Decision.decline
        assert "codex.approval.timed_out" in names(seen)
    finally:
        release.set()
        assert done.wait(5)


def test_with_timeout_is_transparent_when_the_policy_answers() -> None:
    async def quick(request: ApprovalRequest) -> Decision:
        return Decision.accept_for_session

    assert run(WithTimeout(Callback(quick), 5), command("ls")) == Decision.accept_for_session
    assert run(WithTimeout(AllowAll(), 5), command("ls")) == Decision.accept
    assert run(WithTimeout(Abstain(), 5), command("ls")) is None
    with pytest.raises(Boom):
        run(WithTimeout(Callback(raising_sync), 5), command("ls"))
    for bad in (0, -1, float("inf"), "1"):
        with pytest.raises(InvalidPolicyError):
            WithTimeout(AllowAll(), bad)  # type: ignore[arg-type]


def test_correlation_id_reaches_a_sync_policy_in_its_worker_thread() -> None:
    from harness.reference.telemetry import correlation_id

    seen: list[str | None] = []

    def probe(request: ApprovalRequest) -> Decision:
        seen.append(correlation_id())
        return Decision.accept

    with correlation("cid-thread"):
        assert run(WithTimeout(Callback(probe), 5), command("ls")) == Decision.accept
    assert seen == ["cid-thread"]


def test_fallback_catches_a_raising_primary(events: Any, caplog: pytest.LogCaptureFixture) -> None:
    bus, seen = events
    with caplog.at_level(logging.ERROR, logger="harness.reference.approvals"):
        decision = asyncio.run(resolve(Fallback(Callback(raising_async), AllowAll()), command("ls"), bus=bus))
    assert decision == Decision.accept
    assert seen[1].name == "codex.approval.failed" and seen[1].metadata["handled_by"] == "fallback"
    assert seen[-1].metadata["source"] == "policy"
    assert "async policy exploded" in caplog.text


def test_cancelling_the_caller_is_never_swallowed() -> None:
    started = asyncio.Event

    async def main() -> None:
        gate = started()

        async def parked(request: ApprovalRequest) -> Decision:
            gate.set()
            await asyncio.Event().wait()
            return Decision.accept

        task = asyncio.create_task(resolve(Fallback(Callback(parked), AllowAll()), command("ls"), bus=TelemetryBus()))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def test_combinators_need_members() -> None:
    for combinator in (FirstMatch, AllOf, AnyOf):
        with pytest.raises(InvalidPolicyError):
            combinator()
        with pytest.raises(InvalidPolicyError):
            combinator(AllowAll(), object())  # type: ignore[arg-type]


def test_lazy_evaluation_stops_early() -> None:
    asked: list[str] = []

    def spy(name: str, decision: Decision | None) -> Callback:
        def fn(request: ApprovalRequest) -> Decision | None:
            asked.append(name)
            return decision

        return Callback(fn)

    assert run(FirstMatch(spy("a", None), spy("b", Decision.decline), spy("c", Decision.accept)), command("x")) == (
        Decision.decline
    )
    assert run(
        AllOf(spy("d", Decision.accept), spy("e", Decision.cancel), spy("f", Decision.accept)), command("x")
    ) == (Decision.cancel)
    assert run(
        AnyOf(spy("g", Decision.decline), spy("h", Decision.accept), spy("i", Decision.decline)), command("x")
    ) == (Decision.accept)
    assert asked == ["a", "b", "d", "e", "g", "h"]


# -- exec mode -------------------------------------------------------------------------------------------------


def test_exec_approval_policy() -> None:
    assert exec_approval_policy(DenyAll()) == "never"
    assert exec_approval_policy(Always(Decision.decline)) == "never"
    assert exec_approval_policy("never") == "never"
    assert exec_approval_policy("on-request") == "on-request"
    with pytest.raises(ExecApprovalPolicyError, match="no longer supported") as info:
        exec_approval_policy("untrusted")
    assert info.value.to_dict()["kind"] == "invalid_options"
    for policy in (
        AllowAll(),
        Always(Decision.cancel),
        Callback(lambda r: None),
        ByKind({}),
        "on-failure",
        "sometimes",
    ):
        with pytest.raises(ExecApprovalPolicyError):
            exec_approval_policy(policy)


def test_public_surface() -> None:
    assert approvals.__all__ == sorted(approvals.__all__)
    for name in approvals.__all__:
        assert getattr(approvals, name) is not None, name
    assert approvals.KINDS == ("command", "file_change", "mcp_tool", "mcp_elicitation", "permissions")
