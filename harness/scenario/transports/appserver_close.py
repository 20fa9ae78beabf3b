"""The app-server leak probe ``close_client``: the reference client closed while its turn is still going.

Issue #17 asks whether an SDK leaves ``codex app-server`` running when its user walks away. On the app-server the
user's way out is closing (or dropping) the client: after ``turn/started`` arrived (``when: turn_started``), or
while a server request -- an approval -- waits unanswered (``when: approval_pending``). The turn runs as a task;
when the moment comes the client is closed (``AppServerClient.close``: stdin closed, SIGTERM after a grace, then
SIGKILL of the process group -- the reference's own hygiene) and the task cancelled. The turn's record is the
events seen up to then, ``result`` and ``error`` null: the user walked away, it is no failure of the SDK. Whether
the child is gone is not for the client to say: the fake's process log says it (``leftover_process``).

Streamed turns note ``turn/started`` in the consumer loop itself, so the events recorded are exactly those up to
it whatever the scheduling; run turns watch a notification subscription (a run turn shows no events).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.errors import HarnessError
from harness.scenario.model import CLOSE_CLIENT_WHEN, ApprovalsSpec, Mode, TurnSpec
from harness.scenario.transports.layout import error_record, plain

if TYPE_CHECKING:
    from harness.reference.appserver import AppServerClient, AppServerThread
    from harness.scenario.transports.appserver_handler import ScenarioHandler

__all__ = ["TURN_STARTED", "close_client_turn", "holding_approvals"]

#: The notification after which ``when: turn_started`` closes the client.
TURN_STARTED = "turn/started"


def holding_approvals(approvals: ApprovalsSpec | None, turns: Sequence[TurnSpec]) -> ApprovalsSpec | None:
    """``approvals`` as the client must answer them: with an ``approval_pending`` probe nothing is answered (the
    request stays pending until the client is closed), whatever the scenario's policy."""
    if any(turn.close_client == "approval_pending" for turn in turns):
        return ApprovalsSpec.from_dict({"policy": "none"})
    return approvals


def _event(notification: Any) -> dict[str, Any]:
    params = notification.raw.get("params")
    return {"method": notification.method, "params": plain(params) if params is not None else None}


async def close_client_turn(
    client: AppServerClient, thread: AppServerThread, turn: TurnSpec, handler: ScenarioHandler
) -> dict[str, Any]:
    """Run ``turn`` until its ``close_client`` moment, close ``client``, and return the turn's record."""
    if turn.close_client not in CLOSE_CLIENT_WHEN:
        known = ", ".join(CLOSE_CLIENT_WHEN)
        raise HarnessError(f"close_client: unknown moment {turn.close_client!r} (known: {known})")
    record: dict[str, Any] = {"mode": str(turn.mode), "events": [], "result": None, "error": None}
    moment = asyncio.Event()
    if turn.close_client == "approval_pending":
        handler_seen = asyncio.ensure_future(handler.requested.wait())
        handler_seen.add_done_callback(lambda _f: moment.set())
    else:
        handler_seen = None

    async def streamed() -> None:
        async with thread.run_streamed(turn.sdk_input()) as stream:
            async for notification in stream:
                record["events"].append(_event(notification))
                if notification.method == TURN_STARTED and turn.close_client == "turn_started":
                    moment.set()

    async def run() -> None:
        with client.notifications() as subscription:
            job = asyncio.ensure_future(thread.run(turn.sdk_input()))
            try:
                while not job.done():
                    waiter = asyncio.ensure_future(subscription.next())
                    await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
                    if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                        if waiter.result().method == TURN_STARTED and turn.close_client == "turn_started":
                            moment.set()
                    else:
                        waiter.cancel()
                        with contextlib.suppress(BaseException):
                            await waiter
                await job
            finally:
                job.cancel()
                with contextlib.suppress(BaseException):
                    await job

    task = asyncio.ensure_future(streamed() if turn.mode is Mode.STREAMED else run())
    watcher = asyncio.ensure_future(moment.wait())
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if moment.is_set():
            await client.close()  # the user walks away: whatever the turn task does next is a consequence
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
            return record
        exc = task.exception()
        if isinstance(exc, HarnessError):
            raise exc
        if exc is not None:  # the SDK failed before the moment came: that is the turn's outcome
            record["error"] = error_record(exc)
        return record
    finally:
        for pending in (watcher, handler_seen, task):
            if pending is not None and not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending
