"""Approval policies in ``codex exec`` mode, which has no approval requests at all.

``codex exec --json`` never asks the client anything (app-server-protocol.md §8); the only knob is the
``approval_policy`` config value (``--config approval_policy="…"``). So only a policy that *never approves
anything beyond the sandbox* has an exec equivalent:

=====================================  ===================  ==========================================================
policy                                 ``approval_policy``  why
=====================================  ===================  ==========================================================
``DenyAll()``, ``Always(decline)``     ``"never"``          nothing is asked, nothing runs outside the sandbox
``"never"``                            ``"never"``          as given
``"on-request"``                       ``"on-request"``     accepted by exec, but an escalation is refused as under
                                                            ``never`` ("approval policy is Never; reject command")
``"untrusted"``                        error                exec 0.163/0.171 exit 1 before starting:
                                                            ``approval_policy = "untrusted" is no longer supported``
``AllowAll()``                         error                no approval_policy approves escalations; the nearest is
                                                            ``--dangerously-bypass-approvals-and-sandbox``, which
                                                            drops the sandbox: a sandbox choice, not a policy
``Always(cancel)``, callbacks,         error                exec cannot call back into the client
routing, combinators, timeouts
=====================================  ===================  ==========================================================
"""

from __future__ import annotations

from harness.reference.approvals.decision import Decision
from harness.reference.approvals.errors import ExecApprovalPolicyError
from harness.reference.approvals.policy import Always, ApprovalPolicy, DenyAll

__all__ = ["exec_approval_policy"]

_EXEC_STRINGS: dict[str, str] = {"never": "never", "on-request": "on-request"}
_UNTRUSTED = (
    'approval_policy "untrusted" cannot be used with codex exec: 0.163.0 and 0.171.0 exit 1 with '
    '"approval_policy = \\"untrusted\\" is no longer supported; remove this setting"; use the app-server transport'
)


def exec_approval_policy(policy: ApprovalPolicy | str) -> str:
    """The ``approval_policy`` config value that makes ``codex exec`` behave as ``policy``, where one exists.

    Raises :class:`ExecApprovalPolicyError` (kind ``invalid_options``) for anything exec cannot express; the
    message says why and what to use instead.

    >>> from harness.reference.approvals import AllowAll, DenyAll
    >>> exec_approval_policy(DenyAll()), exec_approval_policy("on-request")
    ('never', 'on-request')
    >>> exec_approval_policy(AllowAll())
    Traceback (most recent call last):
        ...
    harness.reference.approvals.errors.ExecApprovalPolicyError: AllowAll cannot be expressed in codex exec mode: ...
    """
    if isinstance(policy, str):
        if policy == "untrusted":
            raise ExecApprovalPolicyError(_UNTRUSTED)
        value = _EXEC_STRINGS.get(policy)
        if value is None:
            raise ExecApprovalPolicyError(
                f"approval_policy {policy!r} has no codex exec equivalent: expected 'never' or 'on-request'"
            )
        return value
    if isinstance(policy, DenyAll) or (isinstance(policy, Always) and policy.decision == Decision.decline):
        return "never"
    raise ExecApprovalPolicyError(
        f"{type(policy).__name__} cannot be expressed in codex exec mode: exec never sends approval requests, so a "
        "policy that approves, cancels or inspects requests needs the app-server transport; "
        "DenyAll maps to approval_policy 'never'"
    )
