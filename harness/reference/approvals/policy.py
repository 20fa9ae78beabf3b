"""The policy seam: :class:`ApprovalPolicy` and the leaf policies (constant answers, callbacks, routing by kind,
command and path).

A policy has one method, ``decide(request)``, which returns a :class:`Decision`, ``None`` to *abstain* (let a
combinator or the final default answer), or an awaitable of either: sync and async policies are the same protocol,
and :func:`evaluate` is the one function that tells them apart. Policies hold no per-request state, so one policy
object can serve every thread of a client concurrently.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, TypeAlias, runtime_checkable

from harness.reference.approvals.decision import KINDS, Decision
from harness.reference.approvals.errors import InvalidDecisionError, InvalidPolicyError
from harness.reference.approvals.matchers import CommandPattern, PathGlob, compile_command_pattern
from harness.reference.approvals.requests import ApprovalRequest, CommandApprovalRequest, FileChangeApprovalRequest

__all__ = [
    "Abstain",
    "AllowAll",
    "Always",
    "ApprovalPolicy",
    "BasePolicy",
    "ByCommand",
    "ByKind",
    "ByPath",
    "Callback",
    "DenyAll",
    "Outcome",
    "check_outcome",
    "evaluate",
    "unanimous",
]

#: What a policy answers: a decision, or ``None`` to abstain.
Outcome: TypeAlias = Decision | None


@runtime_checkable
class ApprovalPolicy(Protocol):
    """Decides approval requests. ``decide`` may be a plain or an ``async`` method; ``None`` means abstain."""

    def decide(self, request: ApprovalRequest) -> Outcome | Awaitable[Outcome]: ...


class BasePolicy:
    """Optional nominal base of the built-in policies (the protocol is structural: any ``decide`` will do).

    Why it exists: a rule table mixing built-ins (``{"ls": AllowAll(), "rm *": Always(Decision.cancel)}``) then
    has a common static type, so ``mypy --strict`` accepts it without annotations.
    """

    __slots__ = ()

    def decide(self, request: ApprovalRequest) -> Outcome | Awaitable[Outcome]:
        raise NotImplementedError


async def evaluate(policy: ApprovalPolicy, request: ApprovalRequest) -> Outcome:
    """Call ``policy`` once and return its outcome, awaiting it if needed; exceptions propagate.

    A result that is neither a Decision nor ``None`` (a bare ``"accept"`` string, say) is a policy bug and raises
    :class:`InvalidDecisionError`: guessing what it meant could approve something nobody approved.
    """
    result: Any = policy.decide(request)
    if inspect.isawaitable(result):
        result = await result
    return check_outcome(policy, result)


def check_outcome(policy: object, result: object) -> Outcome:
    """``result`` if it is a Decision or ``None``, else :class:`InvalidDecisionError` naming the policy."""
    if result is None or isinstance(result, Decision):
        return result
    raise InvalidDecisionError(
        f"{type(policy).__name__}.decide returned {type(result).__name__}, not a Decision or None"
    )


def unanimous(outcomes: Iterable[Outcome]) -> Outcome:
    """The AllOf rule over already-computed outcomes: the first non-accepting decision; else, if any member
    abstained, abstain; else the first accept that says more than a plain ``accept`` (for session, an amendment,
    content), else ``Decision.accept``."""
    abstained = False
    strongest: Decision | None = None
    for outcome in outcomes:
        if outcome is None:
            abstained = True
        elif not outcome.accepts:
            return outcome
        elif strongest is None or (strongest == Decision.accept and outcome != Decision.accept):
            strongest = outcome
    if abstained or strongest is None:
        return None
    return strongest


@dataclass(frozen=True, slots=True)
class AllowAll(BasePolicy):
    """Accept everything (once: plain ``accept``). For a permissions request that grants all it asked for."""

    def decide(self, request: ApprovalRequest) -> Outcome:
        return Decision.accept


@dataclass(frozen=True, slots=True)
class DenyAll(BasePolicy):
    """Decline everything: codex goes on with the turn without running the command (``cancel`` would end it)."""

    def decide(self, request: ApprovalRequest) -> Outcome:
        return Decision.decline


@dataclass(frozen=True, slots=True)
class Always(BasePolicy):
    """Answer every request with the same decision (``Always(Decision.cancel)`` interrupts every asking turn)."""

    decision: Decision

    def __post_init__(self) -> None:
        if not isinstance(self.decision, Decision):
            raise InvalidPolicyError(f"Always needs a Decision, got {type(self.decision).__name__}")

    def decide(self, request: ApprovalRequest) -> Outcome:
        return self.decision


@dataclass(frozen=True, slots=True)
class Abstain(BasePolicy):
    """Never decide: the identity of :class:`FirstMatch`, and a placeholder in routing tables."""

    def decide(self, request: ApprovalRequest) -> Outcome:
        return None


@dataclass(frozen=True, slots=True)
class Callback(BasePolicy):
    """A function as a policy: ``fn(request)`` returning a Decision, ``None`` or an awaitable of one (async def)."""

    fn: Callable[[ApprovalRequest], Outcome | Awaitable[Outcome]]

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise InvalidPolicyError(f"Callback needs a callable, got {type(self.fn).__name__}")

    def decide(self, request: ApprovalRequest) -> Outcome | Awaitable[Outcome]:
        return self.fn(request)


def _check_policy(policy: object, where: str) -> ApprovalPolicy:
    if not isinstance(policy, ApprovalPolicy):
        raise InvalidPolicyError(f"{where}: {policy!r} is not an approval policy (it has no decide method)")
    return policy


@dataclass(frozen=True, slots=True, init=False)
class ByKind(BasePolicy):
    """Route by request kind (``command``, ``file_change``, ``mcp_tool``, ``mcp_elicitation``, ``permissions``);
    a kind without an entry goes to ``default``, or abstains."""

    routes: Mapping[str, ApprovalPolicy]
    default: ApprovalPolicy | None

    def __init__(self, routes: Mapping[str, ApprovalPolicy], default: ApprovalPolicy | None = None) -> None:
        unknown = sorted(set(routes) - set(KINDS))
        if unknown:
            raise InvalidPolicyError(
                f"ByKind: unknown kind(s) {', '.join(map(repr, unknown))}: expected {', '.join(KINDS)}"
            )
        checked = {kind: _check_policy(p, f"ByKind[{kind!r}]") for kind, p in routes.items()}
        object.__setattr__(self, "routes", MappingProxyType(checked))
        object.__setattr__(self, "default", _check_policy(default, "ByKind default") if default is not None else None)

    def decide(self, request: ApprovalRequest) -> Outcome | Awaitable[Outcome]:
        policy = self.routes.get(request.kind, self.default)
        return policy.decide(request) if policy is not None else None


def _rules(
    rules: Mapping[Any, ApprovalPolicy] | Iterable[tuple[Any, ApprovalPolicy]],
) -> list[tuple[Any, ApprovalPolicy]]:
    return list(rules.items()) if isinstance(rules, Mapping) else list(rules)


@dataclass(frozen=True, slots=True, init=False)
class ByCommand(BasePolicy):
    """Route command approvals by the command: the first rule whose pattern matches wins.

    Patterns: a ``str`` is a glob (``*`` matches anything) and a ``re.Pattern`` a regex, both ``fullmatch``-ed
    against the script inside codex's shell wrapper (``touch a.txt``) and against the whole command
    (``/bin/bash -lc 'touch a.txt'``); a ``tuple`` of globs is matched word by word against the script's argv
    (``("touch", "*")``; a final ``"**"`` matches any remaining words). A compound script (``a; b``, pipes,
    redirections, ``$(...)``, newlines) matches no rule unless ``allow_compound=True``, so ``"touch *"`` cannot
    approve ``touch x; rm -rf ~``. No match → ``default``, or abstain. Other request kinds abstain.
    """

    rules: tuple[tuple[CommandPattern, ApprovalPolicy], ...]
    default: ApprovalPolicy | None
    allow_compound: bool

    def __init__(
        self,
        rules: Mapping[Any, ApprovalPolicy] | Iterable[tuple[Any, ApprovalPolicy]],
        *,
        default: ApprovalPolicy | None = None,
        allow_compound: bool = False,
    ) -> None:
        compiled = tuple(
            (compile_command_pattern(pattern), _check_policy(p, f"ByCommand[{pattern!r}]"))
            for pattern, p in _rules(rules)
        )
        object.__setattr__(self, "rules", compiled)
        object.__setattr__(
            self, "default", _check_policy(default, "ByCommand default") if default is not None else None
        )
        object.__setattr__(self, "allow_compound", bool(allow_compound))

    def select(self, request: CommandApprovalRequest) -> ApprovalPolicy | None:
        """The policy for this command (the first matching rule's, else the default)."""
        if request.command is not None and (self.allow_compound or not request.is_compound):
            texts = [t for t in dict.fromkeys((request.script, request.command)) if t is not None]
            argv = request.argv
            for pattern, policy in self.rules:
                if pattern.matches(texts, argv):
                    return policy
        return self.default

    def decide(self, request: ApprovalRequest) -> Outcome | Awaitable[Outcome]:
        if not isinstance(request, CommandApprovalRequest):
            return None
        policy = self.select(request)
        return policy.decide(request) if policy is not None else None


@dataclass(frozen=True, slots=True, init=False)
class ByPath(BasePolicy):
    """Route file-change approvals by the paths the patch touches (see :class:`PathGlob` for the glob rules).

    Each path goes to the first matching rule (else ``default``); a patch whose paths all go to one policy gets that
    policy's answer, a patch spread over several policies gets their :func:`unanimous` answer (a patch touching an
    allowed and a denied file is denied). A path that no rule and no default covers makes the policy abstain; a
    request whose ``changes`` are unknown (no ``item/started`` supplied) goes to ``default``, or abstains. Other
    request kinds abstain.
    """

    rules: tuple[tuple[PathGlob, ApprovalPolicy], ...]
    default: ApprovalPolicy | None

    def __init__(
        self,
        rules: Mapping[str, ApprovalPolicy] | Iterable[tuple[str, ApprovalPolicy]],
        *,
        default: ApprovalPolicy | None = None,
    ) -> None:
        compiled = tuple((PathGlob.compile(g), _check_policy(p, f"ByPath[{g!r}]")) for g, p in _rules(rules))
        object.__setattr__(self, "rules", compiled)
        object.__setattr__(self, "default", _check_policy(default, "ByPath default") if default is not None else None)

    def select(self, request: FileChangeApprovalRequest) -> list[ApprovalPolicy] | None:
        """The distinct policies covering the patch's paths, in path order; ``None`` if some path is uncovered."""
        paths = request.paths
        if not paths:
            return [self.default] if self.default is not None else None
        chosen: list[ApprovalPolicy] = []
        for path in paths:
            policy = next((p for glob, p in self.rules if glob.matches(path)), self.default)
            if policy is None:
                return None
            if not any(policy is c for c in chosen):
                chosen.append(policy)
        return chosen

    def decide(self, request: ApprovalRequest) -> Outcome | Awaitable[Outcome]:
        if not isinstance(request, FileChangeApprovalRequest):
            return None
        policies = self.select(request)
        if policies is None:
            return None
        if len(policies) == 1:
            return policies[0].decide(request)
        return self._unanimous(policies, request)

    @staticmethod
    async def _unanimous(policies: list[ApprovalPolicy], request: ApprovalRequest) -> Outcome:
        outcomes: list[Outcome] = []
        for policy in policies:
            outcome = await evaluate(policy, request)
            outcomes.append(outcome)
            if outcome is not None and not outcome.accepts:
                break
        return unanimous(outcomes)
