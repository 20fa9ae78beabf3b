"""What a tool is: the :class:`Tool` protocol, the :class:`FunctionTool` wrapper and :class:`Namespace`.

A tool is a name, a description the model reads, a JSON Schema of its arguments and ``invoke(arguments)``, which
may return a value or an awaitable (sync and async tools look the same to the registry). The protocol is
structural so that an MCP tool, a manifest entry or a test double can be a tool without inheriting anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

__all__ = ["FunctionTool", "Namespace", "Tool", "function_tool"]


@runtime_checkable
class Tool(Protocol):
    """A callable tool as the model sees it. ``invoke`` gets the validated arguments object."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def input_schema(self) -> Mapping[str, Any]: ...

    def invoke(self, arguments: dict[str, Any]) -> Any | Awaitable[Any]: ...


def _freeze(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(schema))


@dataclass(frozen=True, slots=True)
class FunctionTool:
    """A plain function (sync or async) as a :class:`Tool`; it is called with the arguments as keywords.

    ``is_async`` is decided once, here: the registry then awaits a coroutine function on the event loop and runs a
    plain function in a worker thread (carrying the context, so correlation ids survive), so a slow sync tool
    cannot stall other calls.
    """

    name: str
    description: str
    fn: Callable[..., Any]
    input_schema: Mapping[str, Any] = field(default_factory=lambda: _freeze({"type": "object"}))
    is_async: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_schema", _freeze(self.input_schema))
        object.__setattr__(self, "is_async", inspect.iscoroutinefunction(self.fn))

    def invoke(self, arguments: dict[str, Any]) -> Any:
        """Call the function with ``**arguments`` (a coroutine when the function is async)."""
        return self.fn(**arguments)


def function_tool(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
) -> FunctionTool:
    """Wrap ``fn``: the name defaults to ``fn.__name__``, the description to the first docstring paragraph.

    >>> def add(a: int, b: int) -> int:
    ...     '''Add two numbers.
    ...
    ...     Longer text the model does not need.'''
    ...     return a + b
    >>> tool = function_tool(add)
    >>> tool.name, tool.description, tool.invoke({"a": 2, "b": 3})
    ('add', 'Add two numbers.', 5)
    """
    doc = inspect.getdoc(fn) or ""
    return FunctionTool(
        name=name if name is not None else fn.__name__,
        description=description if description is not None else doc.split("\n\n", 1)[0].strip(),
        fn=fn,
        input_schema=input_schema if input_schema is not None else {"type": "object"},
    )


@dataclass(frozen=True, slots=True)
class Namespace:
    """A group of tools codex shows behind one name; the only place a deferred tool may live."""

    name: str
    description: str
