"""Property tests of the combinator laws (docs/approvals.md, "Laws").

Policies are drawn as random trees of pure policies (constants, abstention, routing by kind/command/path,
deterministic callbacks, a raising leaf) joined by the combinators; requests are the real recorded requests plus
synthetic ones of every kind. ``≡`` is compared on the *outcome*: the decision, abstention (``None``), or the type of
the exception raised.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.reference.approvals import (
    KINDS,
    Abstain,
    AllOf,
    AllowAll,
    Always,
    AnyOf,
    ApprovalPolicy,
    ApprovalRequest,
    ByCommand,
    ByKind,
    ByPath,
    Callback,
    CommandApprovalRequest,
    Decision,
    DenyAll,
    Fallback,
    FileChangeApprovalRequest,
    FirstMatch,
    McpElicitationRequest,
    PermissionsApprovalRequest,
    WithTimeout,
    evaluate,
    parse_request,
    resolve,
)
from harness.reference.telemetry import TelemetryBus

CORPUS = Path(
    os.environ.get("CODEX_APPSERVER_CORPUS", str(Path(__file__).resolve().parents[1] / "fixtures" / "appserver"))
)


def _recorded() -> list[ApprovalRequest]:
    out: list[ApprovalRequest] = []
    for path in sorted(CORPUS.glob("0.1*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            msg = json.loads(line)["msg"]
            if "method" in msg and "id" in msg:
                parsed = parse_request(msg["method"], msg["params"])
                if parsed is not None:
                    out.append(parsed)
    assert out
    return out


def _patch(*paths: str) -> FileChangeApprovalRequest:
    changes = [{"path": p, "kind": {"type": "update"}, "diff": ""} for p in paths]
    return FileChangeApprovalRequest("t", "u", "p").with_item({"changes": changes})


REQUESTS: list[ApprovalRequest] = _recorded() + [
    CommandApprovalRequest("t", "u", "c1", command="/bin/bash -lc 'rm -rf build'"),
    CommandApprovalRequest("t", "u", "c2", command="/bin/bash -lc 'touch a; rm -rf ~'"),
    CommandApprovalRequest("t", "u", "c3", command=None),
    _patch("/srv/rec/ws/a.txt", "/etc/hosts"),
    _patch("/srv/rec/ws/src/x.py"),
    McpElicitationRequest("t", "srv", message="Name?", requested_schema={"type": "object", "properties": {}}),
    PermissionsApprovalRequest("t", "u", "perm", permissions={"network": {"enabled": True}}),
]


class Raises:
    """A leaf that always raises: laws must hold for exceptions too (they propagate through every combinator
    except Fallback)."""

    def decide(self, request: ApprovalRequest) -> Decision:
        raise LookupError("leaf raised")

    def __repr__(self) -> str:
        return "Raises()"


SIMPLE_DECISIONS = st.sampled_from(
    [
        Decision.accept,
        Decision.accept_for_session,
        Decision.decline,
        Decision.cancel,
        Decision.with_execpolicy_amendment(["touch", "approved.txt"]),
        Decision.with_network_policy_amendment("example.com", "deny"),
        Decision.with_network_policy_amendment("example.com", "allow"),
    ]
)
outcomes = st.none() | SIMPLE_DECISIONS


def _table_callback(table: dict[str, Decision | None], is_async: bool) -> Callback:
    if is_async:

        async def afn(request: ApprovalRequest) -> Decision | None:
            await asyncio.sleep(0)
            return table.get(request.kind)

        return Callback(afn)
    return Callback(lambda request: table.get(request.kind))


leaves: st.SearchStrategy[ApprovalPolicy] = st.one_of(
    st.just(AllowAll()),
    st.just(DenyAll()),
    st.just(Abstain()),
    st.just(Raises()),
    SIMPLE_DECISIONS.map(Always),
    st.builds(_table_callback, st.dictionaries(st.sampled_from(KINDS), outcomes), st.booleans()),
)


def _routers(children: st.SearchStrategy[ApprovalPolicy]) -> st.SearchStrategy[ApprovalPolicy]:
    return st.one_of(
        st.builds(
            lambda routes, default: ByKind(routes, default),
            st.dictionaries(st.sampled_from(KINDS), children, max_size=3),
            st.none() | children,
        ),
        st.builds(
            lambda a, b, d: ByCommand({("touch", "*"): a, "rm *": b}, default=d),
            children,
            children,
            st.none() | children,
        ),
        st.builds(
            lambda a, b, d: ByPath({"/srv/rec/ws/**": a, "/etc/**": b}, default=d),
            children,
            children,
            st.none() | children,
        ),
    )


def _combinators(children: st.SearchStrategy[ApprovalPolicy]) -> st.SearchStrategy[ApprovalPolicy]:
    many = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        many.map(lambda ps: FirstMatch(*ps)),
        many.map(lambda ps: AllOf(*ps)),
        many.map(lambda ps: AnyOf(*ps)),
        st.builds(Fallback, children, children),
        _routers(children),
    )


policies: st.SearchStrategy[ApprovalPolicy] = st.recursive(leaves, _combinators, max_leaves=8)
requests = st.sampled_from(REQUESTS)


LOOP: dict[str, asyncio.AbstractEventLoop] = {}


@pytest.fixture(scope="module", autouse=True)
def _event_loop() -> Iterator[None]:
    """One event loop for the whole module: hypothesis runs hundreds of examples, each awaiting a few policies."""
    LOOP["loop"] = asyncio.new_event_loop()
    yield
    LOOP.pop("loop").close()


def outcome(policy: ApprovalPolicy, request: ApprovalRequest) -> Any:
    """The comparable outcome: a Decision, None, or ("raises", ExceptionType)."""
    try:
        return LOOP["loop"].run_until_complete(evaluate(policy, request))
    except Exception as exc:
        return ("raises", type(exc))


LAWS = settings(max_examples=150, deadline=None)


@LAWS
@given(p=policies, r=requests)
def test_first_match_of_one_is_the_policy(p: ApprovalPolicy, r: ApprovalRequest) -> None:
    assert outcome(FirstMatch(p), r) == outcome(p, r)
    assert outcome(FirstMatch(Abstain(), p), r) == outcome(p, r)


@LAWS
@given(a=policies, b=policies, c=policies, r=requests)
def test_first_match_is_associative(
    a: ApprovalPolicy, b: ApprovalPolicy, c: ApprovalPolicy, r: ApprovalRequest
) -> None:
    left = outcome(FirstMatch(FirstMatch(a, b), c), r)
    assert left == outcome(FirstMatch(a, FirstMatch(b, c)), r)
    assert left == outcome(FirstMatch(a, b, c), r)


@LAWS
@given(p=policies, r=requests)
def test_allow_all_is_the_identity_of_all_of(p: ApprovalPolicy, r: ApprovalRequest) -> None:
    expected = outcome(p, r)
    assert outcome(AllOf(p), r) == expected
    assert outcome(AllOf(AllowAll(), p), r) == expected
    assert outcome(AllOf(p, AllowAll()), r) == expected


@LAWS
@given(ps=st.lists(policies, min_size=1, max_size=4), r=requests, where=st.integers(0, 4))
def test_all_of_never_accepts_when_a_member_declines(ps: list[ApprovalPolicy], r: ApprovalRequest, where: int) -> None:
    members = list(ps)
    members.insert(min(where, len(members)), DenyAll())
    result = outcome(AllOf(*members), r)
    assert not (isinstance(result, Decision) and result.accepts)
    # and when every member accepts, so does AllOf
    all_accept = [outcome(p, r) for p in ps]
    if all(isinstance(o, Decision) and o.accepts for o in all_accept):
        together = outcome(AllOf(*ps), r)
        assert isinstance(together, Decision) and together.accepts


@LAWS
@given(p=policies, r=requests)
def test_deny_all_is_the_identity_of_any_of_for_accepting_policies(p: ApprovalPolicy, r: ApprovalRequest) -> None:
    expected = outcome(p, r)
    assert outcome(AnyOf(p), r) == expected
    if isinstance(expected, Decision) and expected.accepts:
        assert outcome(AnyOf(DenyAll(), p), r) == expected
    result = outcome(AnyOf(AllowAll(), p), r)
    assert result == Decision.accept  # lazy: p is never asked once AllowAll accepted


@LAWS
@given(p=policies, d=policies, r=requests)
def test_fallback_laws(p: ApprovalPolicy, d: ApprovalPolicy, r: ApprovalRequest) -> None:
    assert outcome(Fallback(AllowAll(), d), r) == outcome(AllowAll(), r)
    assert outcome(Fallback(Abstain(), d), r) == outcome(d, r)
    assert outcome(Fallback(Raises(), d), r) == outcome(d, r)
    primary = outcome(p, r)
    if isinstance(primary, Decision):
        assert outcome(Fallback(p, d), r) == primary


@settings(max_examples=40, deadline=None)
@given(p=policies, r=requests)
def test_with_timeout_is_transparent_for_a_policy_that_answers(p: ApprovalPolicy, r: ApprovalRequest) -> None:
    assert outcome(WithTimeout(p, 30), r) == outcome(p, r)


@LAWS
@given(p=policies, r=requests)
def test_pure_policies_are_deterministic_and_resolve_is_always_sendable(p: ApprovalPolicy, r: ApprovalRequest) -> None:
    assert outcome(p, r) == outcome(p, r)
    loop = LOOP["loop"]
    first = loop.run_until_complete(resolve(p, r, bus=TelemetryBus()))
    second = loop.run_until_complete(resolve(p, r, bus=TelemetryBus()))
    assert first == second
    r.reply(first)  # resolve never returns a decision the kind cannot express
    raw = outcome(p, r)
    if raw is None or isinstance(raw, tuple):
        assert first == Decision.decline
