"""The stream of one turn, whichever transport produced it.

Both transports hand a streamed turn to their caller the same way (the TS ``RunStreamedResult`` shape): an async
iterator over the turn's events, ``events`` returning the iterator itself, and an async context manager whose
exit -- like ``aclose()`` or breaking out of ``async for`` -- ends the turn: the exec transport terminates and
reaps the process, the app-server transport interrupts a turn that is still running. What ends a turn is the
source generator's ``finally``; this class only gives it one shape.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Generic, Self, TypeVar

__all__ = ["TurnStream"]

T = TypeVar("T")


class TurnStream(Generic[T]):
    """The events of one turn: ``async for event in stream``, ``async with stream``, ``await stream.aclose()``."""

    def __init__(self, source: AsyncGenerator[T, None]) -> None:
        self._source = source

    @property
    def events(self) -> Self:
        """This iterator (TS ``RunStreamedResult.events``)."""
        return self

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> T:
        return await self._source.__anext__()

    async def aclose(self) -> None:
        """End the turn (see the module docstring). Idempotent."""
        await self._source.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
