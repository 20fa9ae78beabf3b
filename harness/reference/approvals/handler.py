"""The bridge to the app-server client: ``server_request_handler(policy)`` → ``async (method, params) -> reply``.

The app-server client calls the handler for every server request and sends back what it returns as the JSON-RPC
``result``; ``None`` means "not mine" (``item/tool/call`` belongs to the tool registry, ``item/tool/requestUserInput``
to whoever asks the user), so the client can try the next handler or answer -32601 itself. For the four approval
methods the handler **always** returns a reply, even when the params cannot be parsed or the policy blows up: a
decline, because codex waits forever for an answer (§4.3) and an error reply would fail the item anyway.

File changes need the patch, which only the ``item/started`` notification carries: feed notifications to
:meth:`ApprovalRequestHandler.observe` (the handler keeps the ``fileChange`` items still in flight), or pass
``on_item_started``, a lookup ``(thread_id, item_id) -> item | None`` over items the caller keeps itself.

>>> import asyncio
>>> from harness.reference.approvals import AllowAll
>>> handler = server_request_handler(AllowAll())
>>> params = {"threadId": "t", "turnId": "u", "itemId": "call_1", "command": "ls"}
>>> asyncio.run(handler("item/commandExecution/requestApproval", params))
{'decision': 'accept'}
>>> asyncio.run(handler("item/commandExecution/requestApproval", {"itemId": 7}))  # malformed: declined, unasked
{'decision': 'decline'}
>>> print(asyncio.run(handler("item/tool/call", {})))  # not an approval: not mine
None
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from harness.reference.approvals import _telemetry
from harness.reference.approvals.decision import Decision
from harness.reference.approvals.errors import ApprovalRequestError
from harness.reference.approvals.policy import ApprovalPolicy, _check_policy
from harness.reference.approvals.requests import APPROVAL_METHODS, FileChangeApprovalRequest, parse_request
from harness.reference.approvals.resolve import resolve
from harness.reference.telemetry import TelemetryBus, default_bus

__all__ = ["ApprovalRequestHandler", "ItemLookup", "safe_reply", "server_request_handler"]

#: ``(thread_id, item_id) -> the item of its item/started notification``, or ``None`` when unknown.
ItemLookup = Callable[[str, str], Mapping[str, Any] | None]

_SAFE_REPLIES: Mapping[str, Callable[[], dict[str, Any]]] = {
    "command": lambda: {"decision": "decline"},
    "file_change": lambda: {"decision": "decline"},
    "mcp": lambda: {"action": "decline", "content": None},
    "permissions": lambda: {"permissions": {}, "scope": "turn"},
}


def safe_reply(method: str) -> dict[str, Any] | None:
    """The decline reply for an approval method, without parsing anything; ``None`` for other methods."""
    family = APPROVAL_METHODS.get(method)
    return _SAFE_REPLIES[family]() if family is not None else None


class ApprovalRequestHandler:
    """Answers approval server requests with a policy. One per client connection; safe to call concurrently."""

    def __init__(
        self,
        policy: ApprovalPolicy,
        *,
        on_item_started: ItemLookup | None = None,
        bus: TelemetryBus | None = None,
        timeout: float | None = None,
        timeout_default: Decision = Decision.decline,
        max_tracked_items: int = 1024,
    ) -> None:
        self.policy = _check_policy(policy, "server_request_handler")
        self.bus = bus or default_bus()
        self.timeout = timeout
        self.timeout_default = timeout_default
        self._lookup = on_item_started
        self._items: OrderedDict[tuple[str, str], Mapping[str, Any]] = OrderedDict()
        self._max = max_tracked_items
        self._lock = threading.Lock()

    @staticmethod
    def handles(method: str) -> bool:
        """Whether ``method`` is one of the approval methods this handler answers."""
        return method in APPROVAL_METHODS

    def observe(self, method: str, params: Mapping[str, Any]) -> None:
        """Feed one server notification. Keeps ``fileChange`` items from ``item/started`` until their
        ``item/completed`` (bounded: the oldest are dropped first); ignores everything else."""
        if method not in ("item/started", "item/completed") or not isinstance(params, Mapping):
            return
        item, thread_id = params.get("item"), params.get("threadId")
        if not isinstance(item, Mapping) or item.get("type") != "fileChange" or not isinstance(thread_id, str):
            return
        item_id = item.get("id")
        if not isinstance(item_id, str):
            return
        key = (thread_id, item_id)
        with self._lock:
            if method == "item/completed":
                self._items.pop(key, None)
                return
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self._max:
                self._items.popitem(last=False)

    def started_item(self, thread_id: str, item_id: str) -> Mapping[str, Any] | None:
        """The ``item/started`` item for this id: from ``on_item_started`` first, else from :meth:`observe`."""
        if self._lookup is not None:
            found = self._lookup(thread_id, item_id)
            if found is not None:
                return found
        with self._lock:
            return self._items.get((thread_id, item_id))

    async def __call__(
        self, method: str, params: Mapping[str, Any] | None, request_id: str | int | None = None
    ) -> dict[str, Any] | None:
        """The ``result`` to send for this server request, or ``None`` if the method is not an approval."""
        if method not in APPROVAL_METHODS:
            return None
        try:
            request = parse_request(method, params if params is not None else {})
            if isinstance(request, FileChangeApprovalRequest):
                request = request.with_item(self.started_item(request.thread_id, request.item_id))
        except ApprovalRequestError as exc:
            _telemetry.report_unparsable(self.bus, method, request_id, exc)
            return safe_reply(method)
        assert request is not None
        decision = await resolve(
            self.policy,
            request,
            bus=self.bus,
            request_id=request_id,
            timeout=self.timeout,
            timeout_default=self.timeout_default,
        )
        return request.reply(decision)


def server_request_handler(
    policy: ApprovalPolicy,
    *,
    on_item_started: ItemLookup | None = None,
    bus: TelemetryBus | None = None,
    timeout: float | None = None,
    timeout_default: Decision = Decision.decline,
) -> ApprovalRequestHandler:
    """An async ``(method, params) -> reply | None`` for the app-server client, answering approvals with ``policy``.

    ``timeout`` bounds every decision (codex has none); ``bus`` receives the ``codex.approval.*`` events.
    """
    return ApprovalRequestHandler(
        policy, on_item_started=on_item_started, bus=bus, timeout=timeout, timeout_default=timeout_default
    )
