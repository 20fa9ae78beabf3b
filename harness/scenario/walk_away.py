"""How the reference consumes a streamed turn, including the leak probes' ways of walking away from it.

One piece of code for both places that drive the reference SDK's streams (the exec transport's reference run and
the reference adapter), so the golden and the reference-behind-the-protocol walk away alike. The idiom is the
reference SDK's own: ``async with thread.run_streamed(...) as stream`` -- leaving the block (``break``, an
exception) closes the stream, and its ``finally`` stops codex. ``drop`` is the one way around that idiom: the
stream is iterated without the block and every reference is dropped, so only the SDK's finalizer can stop codex.
docs/leak-probes.md.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Mapping
from typing import Any

from harness.scenario.model import WalkAway

__all__ = ["WalkedAway", "consume_stream", "walk_away_of"]

#: How long the event loop runs on after a ``drop`` before the turn's record is returned.
_DROP_LOOP_S = 0.3


class WalkedAway(Exception):  # noqa: N818 - it is the user's own exception, not an error of the harness
    """What the ``raise`` probe raises inside the consumer loop (and catches outside it)."""


def walk_away_of(raw: WalkAway | Mapping[str, Any] | None) -> WalkAway | None:
    """A :class:`WalkAway` from the scenario model or from a portable case's ``walk_away`` object."""
    if raw is None or isinstance(raw, WalkAway):
        return raw
    return WalkAway(how=str(raw["how"]), after_events=int(raw["after_events"]))


async def _finalizers_done(timeout: float = 10.0) -> None:
    """Wait for the ``aclose()`` tasks asyncio's async-generator finalizer started (the dropped stream's cleanup),
    as a program whose loop runs on would: the reference's run ends with its loop, which must not cut them short."""
    closing = [
        task for task in asyncio.all_tasks()
        if task is not asyncio.current_task() and type(task.get_coro()).__name__ == "async_generator_athrow"
    ]
    if closing:
        await asyncio.wait(closing, timeout=timeout)


async def consume_stream(
    open_stream: Callable[[], Any], walk_away: WalkAway | None, on_event: Callable[[Any], None]
) -> bool:
    """Iterate the stream ``open_stream()`` returns, handing each event to ``on_event``; with ``walk_away``, stop
    after its ``after_events`` events in its way. True when the consumer walked away (the stream had that many)."""
    if walk_away is None:
        async with open_stream() as stream:
            async for event in stream:
                on_event(event)
        return False
    limit = walk_away.after_events
    seen = 0
    if walk_away.how == "drop":
        stream = open_stream()
        iterator = stream.__aiter__()
        while seen < limit:
            try:
                event = await iterator.__anext__()
            except StopAsyncIteration:
                return False
            on_event(event)
            seen += 1
        del stream, iterator
        gc.collect()
        # a long-lived program's event loop keeps running after the drop (the SDK's finalizer schedules its cleanup
        # there); the reference's run ends with its loop, so it lets the loop run for a moment, as the peers'
        # adapters do between requests
        await asyncio.sleep(_DROP_LOOP_S)
        await _finalizers_done()
        return True
    try:
        async with open_stream() as stream:
            async for event in stream:
                on_event(event)
                seen += 1
                if seen >= limit:
                    if walk_away.how == "raise":
                        raise WalkedAway(f"the consumer raised after {seen} event(s)")
                    break
    except WalkedAway:
        return True
    return seen >= limit
