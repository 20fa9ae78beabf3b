"""The tool registry: register tools, declare them to codex, answer its calls.

One registry serves both transports. ``dynamic_tools()`` is the ``thread/start`` ``dynamicTools`` param list and
``await answer(params)`` turns an app-server ``item/tool/call`` request into the reply codex expects; the exec
auto-run loop uses the transport-neutral core, ``await call(name, arguments)`` → :class:`ToolOutcome`.

Rules (codex's, see :mod:`.rules`): a name is unique within its namespace (a top-level tool and a namespaced one
may share a name); ``defer_loading`` needs a namespace (codex answers ``thread/start`` with -32600 otherwise);
an empty namespace is left out of ``dynamic_tools()`` (codex rejects it). Registration returns a
:class:`ToolHandle`; ``handle.unregister()`` removes exactly that registration, and a second call is a no-op, also
after the name was registered again by someone else. All methods are thread-safe.

A call never raises for a failure of the tool: an unknown tool, arguments that do not match the schema (the reply
names the failing JSON pointer), an exception, a timeout or an unusable return value all become
``success: false`` with a short text, because the model can react to text and codex cannot react to an error.

Telemetry (through a :class:`~harness.reference.telemetry.TelemetryBus`; names in :data:`TOOL_EVENT_NAMES`):

=======================  ============  ===========================================================
name                     measurements  metadata
=======================  ============  ===========================================================
``codex.tool.start``     —             tool, namespace, call_id
``codex.tool.stop``      duration_ms   tool, namespace, call_id, outcome (``success`` or an
                                       ``error_kind``: unknown_tool, invalid_arguments, failure,
                                       invalid_result)
``codex.tool.exception``  duration_ms  tool, namespace, call_id, outcome (``exception`` /
                                       ``timeout``), error_kind, message (redacted)
=======================  ============  ===========================================================

Every event carries the caller's correlation id (the telemetry module's contextvar); a sync tool runs in a worker
thread that inherits the caller's context.

A typical use: register a function, declare the tools on ``thread/start``, answer the calls:

>>> import asyncio
>>> from harness.reference.tools import function_tool
>>> def lookup_weather(city: str) -> str:
...     '''Look up the weather for a city.'''
...     return f"Sunny in {city}"
>>> registry = ToolRegistry()
>>> handle = registry.register(function_tool(lookup_weather, input_schema={
...     "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}))
>>> [tool["name"] for tool in registry.dynamic_tools()]
['lookup_weather']
>>> asyncio.run(registry.answer({"callId": "c1", "tool": "lookup_weather", "arguments": {"city": "Oslo"}}))
{'contentItems': [{'type': 'inputText', 'text': 'Sunny in Oslo'}], 'success': True}

A bad call is an answer the model can read, never an exception; a bad registration raises:

>>> print(asyncio.run(registry.call("lookup_weather", {"city": 3})).message)
invalid arguments for lookup_weather at "/city": 3 is not of type 'string'
>>> registry.register(function_tool(lookup_weather))
Traceback (most recent call last):
    ...
harness.reference.tools.errors.DuplicateToolError: duplicate dynamic tool name: lookup_weather
>>> handle.unregister(), handle.unregister(), len(registry)
(True, False, 0)
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import itertools
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema.exceptions
import jsonschema.protocols
import jsonschema.validators

from harness.reference.telemetry import TelemetryBus, default_bus
from harness.reference.tools._redact import redact, shorten
from harness.reference.tools.errors import DuplicateToolError, ToolDefinitionError
from harness.reference.tools.model import Namespace, Tool
from harness.reference.tools.outcome import ToolOutcome, outcome_from_result
from harness.reference.tools.rules import (
    json_pointer,
    namespace_description_problem,
    namespace_name_problem,
    plain_json,
    schema_problems,
    tool_name_problem,
)

__all__ = ["TOOL_EVENT_NAMES", "ToolHandle", "ToolRegistry"]

TOOL_EVENT_NAMES: tuple[str, ...] = ("codex.tool.start", "codex.tool.stop", "codex.tool.exception")
_MAX_LISTED_ERRORS = 3


@dataclass(frozen=True, slots=True)
class _Entry:
    token: int
    tool: Tool
    namespace: str | None
    defer_loading: bool
    validator: jsonschema.protocols.Validator


def _qualified(name: str, namespace: str | None) -> str:
    return f"{namespace}/{name}" if namespace else name


class ToolHandle:
    """One registration. ``unregister()`` removes it (``True``) or does nothing when already gone (``False``)."""

    __slots__ = ("_registry", "_key", "_token")

    def __init__(self, registry: ToolRegistry, key: tuple[str | None, str], token: int) -> None:
        self._registry = registry
        self._key = key
        self._token = token

    @property
    def name(self) -> str:
        return self._key[1]

    @property
    def namespace(self) -> str | None:
        return self._key[0]

    @property
    def active(self) -> bool:
        """Whether this registration is still the live one."""
        return self._registry._is_live(self._key, self._token)

    def unregister(self) -> bool:
        """Remove this registration; idempotent, and never removes a later registration of the same name."""
        return self._registry._remove(self._key, self._token)

    def __repr__(self) -> str:
        return f"ToolHandle({_qualified(self.name, self.namespace)!r}, active={self.active})"


class ToolRegistry:
    """Thread-safe set of tools; see the module docstring for the rules, replies and telemetry."""

    def __init__(self, *, bus: TelemetryBus | None = None, timeout: float | None = None) -> None:
        """``timeout`` (seconds) applies to every call that does not pass its own; ``None`` waits forever."""
        self._bus = bus if bus is not None else default_bus()
        self._timeout = timeout
        self._lock = threading.Lock()
        self._tokens = itertools.count(1)
        self._entries: dict[tuple[str | None, str], _Entry] = {}
        self._namespaces: dict[str, Namespace] = {}

    # ------------------------------------------------------------------------------------------- registration

    def add_namespace(self, namespace: Namespace) -> Namespace:
        """Declare a namespace (again with the same description is fine; a different one is an error)."""
        problem = namespace_name_problem(namespace.name) or namespace_description_problem(namespace.description)
        if problem is not None:
            raise ToolDefinitionError(problem, namespace=namespace.name)
        with self._lock:
            known = self._namespaces.setdefault(namespace.name, namespace)
        if known != namespace:
            raise ToolDefinitionError(
                f"namespace {namespace.name!r} is already declared with another description", namespace=namespace.name
            )
        return known

    def register(
        self, tool: Tool, *, namespace: Namespace | str | None = None, defer_loading: bool = False
    ) -> ToolHandle:
        """Register ``tool`` (in ``namespace``: a :class:`Namespace`, or the name of one already declared)."""
        name = tool.name
        problem = tool_name_problem(name)
        if problem is None and (not isinstance(tool.description, str) or not tool.description.strip()):
            problem = f"tool {name!r} needs a non-empty description (the model reads it to choose the tool)"
        if problem is not None:
            raise ToolDefinitionError(problem, name=name if isinstance(name, str) else None)
        schema_issues = schema_problems(tool.input_schema)
        if schema_issues:
            pointer, message = schema_issues[0]
            raise ToolDefinitionError(f"input schema of {name!r} at {pointer or '/'}: {message}", name=name)
        ns_name: str | None = None
        if isinstance(namespace, Namespace):
            ns_name = self.add_namespace(namespace).name
        elif namespace is not None:
            with self._lock:
                declared = namespace in self._namespaces
            if not declared:
                raise ToolDefinitionError(
                    f"unknown namespace {namespace!r}: pass Namespace(name, description) to declare it",
                    name=name,
                    namespace=namespace,
                )
            ns_name = namespace
        if defer_loading and ns_name is None:
            raise ToolDefinitionError(f"deferred dynamic tool must include a namespace: {name}", name=name)
        schema = plain_json(tool.input_schema)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        validator = cls(schema)
        key = (ns_name, name)
        with self._lock:
            if key in self._entries:
                where = f" in namespace {ns_name}" if ns_name else ""
                raise DuplicateToolError(f"duplicate dynamic tool name{where}: {name}", name=name, namespace=ns_name)
            token = next(self._tokens)
            self._entries[key] = _Entry(token, tool, ns_name, defer_loading, validator)
        return ToolHandle(self, key, token)

    def _is_live(self, key: tuple[str | None, str], token: int) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and entry.token == token

    def _remove(self, key: tuple[str | None, str], token: int) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.token != token:
                return False
            del self._entries[key]
            return True

    def get(self, name: str, namespace: str | None = None) -> Tool | None:
        """The live tool of that name (in that namespace), if any."""
        with self._lock:
            entry = self._entries.get((namespace, name))
        return entry.tool if entry is not None else None

    def names(self) -> list[tuple[str | None, str]]:
        """``(namespace, name)`` of every live tool, in registration order."""
        with self._lock:
            return list(self._entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    # ---------------------------------------------------------------------------------------------- declaring

    def dynamic_tools(self) -> list[dict[str, Any]]:
        """The ``thread/start`` ``dynamicTools`` list: functions and namespaces in registration order.

        A namespace appears where its first tool was registered; ``deferLoading`` is only written when true
        (the shape of the recordings); namespaces without live tools are left out.
        """
        with self._lock:
            entries = list(self._entries.values())
            namespaces = dict(self._namespaces)
        specs: list[dict[str, Any]] = []
        grouped: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            spec: dict[str, Any] = {
                "type": "function",
                "name": entry.tool.name,
                "description": entry.tool.description,
                "inputSchema": plain_json(entry.tool.input_schema),
            }
            if entry.defer_loading:
                spec["deferLoading"] = True
            if entry.namespace is None:
                specs.append(spec)
                continue
            if entry.namespace not in grouped:
                ns = namespaces[entry.namespace]
                grouped[ns.name] = []
                specs.append({"type": "namespace", "name": ns.name, "description": ns.description,
                              "tools": grouped[ns.name]})
            grouped[entry.namespace].append(spec)
        return specs

    # ------------------------------------------------------------------------------------------------ calling

    async def call(
        self,
        name: str,
        arguments: Any,
        *,
        namespace: str | None = None,
        call_id: str | None = None,
        timeout: float | None = None,
    ) -> ToolOutcome:
        """Validate ``arguments`` against the tool's schema, invoke it and map the result (never raises for the
        tool's failures). ``timeout`` overrides the registry's default for this call."""
        limit = timeout if timeout is not None else self._timeout
        metadata: dict[str, Any] = {"tool": name, "namespace": namespace, "call_id": call_id}
        self._bus.emit("codex.tool.start", None, metadata)
        started = time.perf_counter()
        with self._lock:
            entry = self._entries.get((namespace, name))
        outcome: ToolOutcome
        failure: BaseException | None = None
        if entry is None:
            outcome = ToolOutcome.failure(f"unknown tool: {_qualified(name, namespace)}", "unknown_tool")
        elif (problem := _argument_problem(entry.validator, name, arguments)) is not None:
            outcome = ToolOutcome.failure(problem, "invalid_arguments")
        else:
            try:
                outcome = outcome_from_result(await _invoke(entry.tool, arguments, limit))
            except TimeoutError as exc:
                failure = exc
                outcome = ToolOutcome.failure(f"tool {name} timed out after {limit:g} s", "timeout")
            except Exception as exc:  # the tool's own bug: the model gets a short text, the caller carries on
                failure = exc
                text = shorten(redact(f"{type(exc).__name__}: {exc}"))
                outcome = ToolOutcome.failure(f"tool {name} failed: {text}", "exception")
        duration_ms = round((time.perf_counter() - started) * 1000.0, 3)
        if failure is None:
            result = "success" if outcome.success else (outcome.error_kind or "failure")
            self._bus.emit("codex.tool.stop", {"duration_ms": duration_ms}, {**metadata, "outcome": result})
        else:
            self._bus.emit(
                "codex.tool.exception",
                {"duration_ms": duration_ms},
                {**metadata, "outcome": outcome.error_kind, "error_kind": type(failure).__name__,
                 "message": outcome.message},
            )
        return outcome

    async def answer(self, params: Mapping[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """The reply to an app-server ``item/tool/call`` request ``{threadId, turnId, callId, namespace, tool,
        arguments}``: always ``{"contentItems": [...], "success": bool}``, never ``{}``."""
        tool = params.get("tool") if isinstance(params, Mapping) else None
        if not isinstance(tool, str):
            return ToolOutcome.failure("malformed item/tool/call: 'tool' must be a string", "unknown_tool").to_reply()
        namespace = params.get("namespace")
        call_id = params.get("callId")
        outcome = await self.call(
            tool,
            params.get("arguments", {}),
            namespace=namespace if isinstance(namespace, str) else None,
            call_id=call_id if isinstance(call_id, str) else None,
            timeout=timeout,
        )
        return outcome.to_reply()


def _argument_problem(validator: jsonschema.protocols.Validator, name: str, arguments: Any) -> str | None:
    if not isinstance(arguments, dict):
        return f"invalid arguments for {name}: expected a JSON object, got {type(arguments).__name__}"
    located = sorted((_error_pointer(error), error.message) for error in validator.iter_errors(arguments))
    if not located:
        return None
    parts = [f'at "{pointer}": {shorten(message, 200)}' for pointer, message in located[:_MAX_LISTED_ERRORS]]
    more = f" (and {len(located) - _MAX_LISTED_ERRORS} more)" if len(located) > _MAX_LISTED_ERRORS else ""
    return f"invalid arguments for {name} " + "; ".join(parts) + more


def _error_pointer(error: jsonschema.exceptions.ValidationError) -> str:
    """The JSON pointer of the failing value; for a missing or unexpected property, of that property."""
    path = list(error.absolute_path)
    instance = error.instance
    if isinstance(instance, dict):
        if error.validator == "required" and isinstance(error.validator_value, list):
            path += [p for p in error.validator_value if p not in instance][:1]
        elif error.validator == "additionalProperties" and isinstance(error.schema, Mapping):
            known = error.schema.get("properties", {})
            path += [k for k in instance if k not in known][:1]
    return json_pointer(path)


async def _invoke(tool: Tool, arguments: dict[str, Any], timeout: float | None) -> Any:
    """Run the tool with an optional deadline: async tools on the loop, sync tools in a daemon thread."""
    if getattr(tool, "is_async", False) or inspect.iscoroutinefunction(tool.invoke):
        work: Awaitable[Any] = _await_result(tool.invoke, arguments)
    else:
        work = _in_thread(tool.invoke, arguments)
    if timeout is None:
        return await work
    return await asyncio.wait_for(work, timeout)


async def _await_result(fn: Callable[[dict[str, Any]], Any], arguments: dict[str, Any]) -> Any:
    result = fn(arguments)
    return await result if inspect.isawaitable(result) else result


async def _in_thread(fn: Callable[[dict[str, Any]], Any], arguments: dict[str, Any]) -> Any:
    """Run ``fn`` in a daemon thread carrying the caller's context.

    Not the loop's default executor: a sync tool that outlives its timeout would otherwise hold up the shutdown
    of the event loop (``asyncio.run`` waits for the default executor's threads).
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(ok: bool, value: Any) -> None:
        if future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def deliver(ok: bool, value: Any) -> None:
        # RuntimeError: the loop is gone (the call timed out and its caller finished), so nobody waits
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, ok, value)

    def run() -> None:
        try:
            value = context.run(fn, arguments)
        except BaseException as exc:  # delivered to the awaiting task, which decides
            deliver(False, exc)
        else:
            deliver(True, value)

    threading.Thread(target=run, name="tool-call", daemon=True).start()
    result = await future
    return await result if inspect.isawaitable(result) else result
