"""The JSON-RPC layer over the in-memory transport: typed ids, concurrent server requests, ordered notification
delivery, replies with the exact id, framing (U+2028, long lines, CRLF, split and merged chunks) and every failure
kind reaching the callers that wait."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from harness.reference.appserver import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    AppServerClient,
    AppServerClosedError,
    AppServerExitedError,
    AppServerProtocolError,
    AppServerTimeoutError,
    Connection,
    JsonRpcError,
    MemoryTransport,
    NoReply,
    RpcErrorReply,
    memory_pair,
)

Server = Callable[[MemoryTransport], Awaitable[None]]


async def with_connection(server: Server, body: Callable[[Connection], Awaitable[Any]], **options: Any) -> Any:
    client_end, server_end = memory_pair()

    async def serve() -> None:
        try:
            await server(server_end)
        finally:
            await server_end.close()  # the server's end of the stream

    task = asyncio.ensure_future(serve())
    try:
        async with asyncio.timeout(10):  # a safeguard against a hang, not a timing assertion
            async with Connection(client_end, **options) as connection:
                return await body(connection)
    finally:
        await client_end.close()
        await task


def run(server: Server, body: Callable[[Connection], Awaitable[Any]], **options: Any) -> Any:
    return asyncio.run(with_connection(server, body, **options))


async def echo_server(end: MemoryTransport) -> None:
    """Answers every request with ``{"echo": <method>, "id": <id>}``, notifications ignored."""
    while (frame := await end.receive()) is not None:
        if "method" in frame and "id" in frame:
            await end.send({"id": frame["id"], "result": {"echo": frame["method"], "id": frame["id"]}})


def test_int_and_string_ids_are_matched_with_their_type() -> None:
    frames: list[dict[str, Any]] = []

    async def server(end: MemoryTransport) -> None:
        first, second = await end.receive(), await end.receive()
        frames.extend([first, second])
        # answer in reverse order: matching is by id (and its type), not by position
        await end.send({"id": second["id"], "result": "for " + repr(second["id"])})
        await end.send({"id": first["id"], "result": "for " + repr(first["id"])})
        await end.receive()

    async def body(connection: Connection) -> tuple[Any, Any]:
        as_int = asyncio.ensure_future(connection.request("a", {}, id=1))
        as_str = asyncio.ensure_future(connection.request("b", {}, id="1"))
        return await as_int, await as_str

    assert run(server, body) == ("for 1", "for '1'")
    assert [f["id"] for f in frames] == [1, "1"]
    assert all("jsonrpc" not in f for f in frames)


def test_default_ids_count_from_one() -> None:
    async def body(connection: Connection) -> list[Any]:
        return [(await connection.request("m"))["id"] for _ in range(3)]

    assert run(echo_server, body) == [1, 2, 3]


def test_string_id_factory() -> None:
    counter = iter(range(100))

    async def body(connection: Connection) -> list[Any]:
        return [(await connection.request("m"))["id"] for _ in range(2)]

    assert run(echo_server, body, id_factory=lambda: f"req-{next(counter)}") == ["req-0", "req-1"]


def test_slow_handler_does_not_stall_notifications_or_other_requests() -> None:
    replies: list[dict[str, Any]] = []
    state: dict[str, Any] = {}

    async def handler(method: str, params: dict[str, Any]) -> Any:
        if params["slow"]:
            await state["release"].wait()
        return {"decision": "accept", "slow": params["slow"]}

    async def server(end: MemoryTransport) -> None:
        await end.send({"id": 0, "method": "item/commandExecution/requestApproval", "params": {"slow": True}})
        await end.send({"id": 1, "method": "item/commandExecution/requestApproval", "params": {"slow": False}})
        for n in range(3):
            await end.send({"method": "item/agentMessage/delta", "params": {"delta": str(n)}, "emittedAtMs": n})
        while (frame := await end.receive()) is not None:
            if "method" in frame:  # the client's own request, sent while request 0 is still pending
                await end.send({"id": frame["id"], "result": {}})
            else:
                replies.append(frame)

    async def body(connection: Connection) -> list[str]:
        state["release"] = asyncio.Event()
        deltas: list[str] = []
        with connection.subscribed() as notifications:
            async for notification in notifications:
                deltas.append(notification.params.raw["delta"])
                if len(deltas) == 3:
                    break
        assert await connection.request("thread/list", {}) == {}  # our requests flow too
        assert connection.pending_server_requests == 1
        state["release"].set()
        while len(replies) < 2:
            await asyncio.sleep(0)
        return deltas

    assert run(server, body, handler=handler) == ["0", "1", "2"]
    assert [r["id"] for r in replies] == [1, 0]  # the fast one first; each with its own id
    assert replies[1] == {"id": 0, "result": {"decision": "accept", "slow": True}}


@pytest.mark.parametrize(
    ("handler_kind", "expected"),
    [
        ("none", {"code": METHOD_NOT_FOUND}),
        ("returns_none", {"code": METHOD_NOT_FOUND}),
        ("raises", {"code": INTERNAL_ERROR}),
        ("error", {"code": -32000, "message": "refused", "data": {"why": 1}}),
        ("not_a_mapping", {"code": INTERNAL_ERROR}),
    ],
)
def test_server_request_error_replies(handler_kind: str, expected: dict[str, Any]) -> None:
    async def handler(method: str, params: dict[str, Any]) -> Any:
        if handler_kind == "raises":
            raise RuntimeError("policy exploded")
        if handler_kind == "error":
            return RpcErrorReply(-32000, "refused", {"why": 1})
        if handler_kind == "not_a_mapping":
            return ["accept"]
        return None

    got: list[dict[str, Any]] = []

    async def server(end: MemoryTransport) -> None:
        await end.send({"id": 7, "method": "attestation/generate", "params": {}})
        got.append(await end.receive())
        await echo_server(end)

    async def body(connection: Connection) -> Any:
        while not got:
            await asyncio.sleep(0)
        return await connection.request("still/alive")  # the connection survives a failing handler

    result = run(server, body, handler=None if handler_kind == "none" else handler)
    assert result == {"echo": "still/alive", "id": 1}
    assert got[0]["id"] == 7 and "result" not in got[0]
    assert {k: got[0]["error"][k] for k in expected} == expected
    assert isinstance(got[0]["error"]["message"], str) and got[0]["error"]["message"]


def test_no_reply_sends_nothing() -> None:
    got: list[dict[str, Any]] = []

    async def handler(method: str, params: dict[str, Any]) -> Any:
        return NoReply

    async def server(end: MemoryTransport) -> None:
        await end.send({"id": 0, "method": "item/tool/call", "params": {}})
        while (frame := await end.receive()) is not None:
            got.append(frame)
            if "method" in frame:
                await end.send({"id": frame["id"], "result": {}})

    async def body(connection: Connection) -> None:
        while connection.pending_server_requests == 0 and not got:
            await asyncio.sleep(0)
        await asyncio.sleep(0)
        await connection.request("ping")

    run(server, body, handler=handler)
    assert [f.get("method") for f in got] == ["ping"]


def test_error_reply_is_a_typed_jsonrpc_error() -> None:
    async def server(end: MemoryTransport) -> None:
        frame = await end.receive()
        await end.send({"id": frame["id"], "error": {"code": -32600, "message": "deferred tool needs a namespace"}})
        await end.receive()

    async def body(connection: Connection) -> JsonRpcError:
        with pytest.raises(JsonRpcError) as info:
            await connection.request("thread/start", {"dynamicTools": []})
        return info.value

    error = run(server, body)
    assert (error.code, error.rpc_message, error.method) == (-32600, "deferred tool needs a namespace", "thread/start")
    assert error.to_dict()["kind"] == "jsonrpc_error"
    assert error.to_dict()["details"] == {
        "code": -32600,
        "message": "deferred tool needs a namespace",
        "method": "thread/start",
    }


def test_garbage_frame_fails_waiting_callers_with_a_protocol_error() -> None:
    async def server(end: MemoryTransport) -> None:
        await end.receive()
        await end.send_line(b"this is not json\n")
        await end.receive()

    async def body(connection: Connection) -> tuple[Any, Any, Any]:
        subscription = connection.subscribe()
        with pytest.raises(AppServerProtocolError) as pending:
            await connection.request("initialize", {})
        with pytest.raises(AppServerProtocolError) as later:
            await connection.request("thread/start", {})
        with pytest.raises(AppServerProtocolError) as notified:
            await subscription.next()
        return pending.value, later.value, notified.value

    pending, later, notified = run(server, body)
    assert pending.kind == "appserver_protocol" and "this is not json" in pending.message
    assert later is pending and notified is pending


def test_end_of_stream_fails_pending_requests_as_exited() -> None:
    async def server(end: MemoryTransport) -> None:
        await end.receive()  # then close without answering

    async def body(connection: Connection) -> AppServerExitedError:
        with pytest.raises(AppServerExitedError) as info:
            await connection.request("turn/start", {})
        return info.value

    error = run(server, body)
    assert error.kind == "appserver_exited" and error.exit_code is None


def test_timeout_then_the_late_answer_is_dropped() -> None:
    async def server(end: MemoryTransport) -> None:
        first = await end.receive()  # never answered in time
        second = await end.receive()
        await end.send({"id": first["id"], "result": "late"})
        await end.send({"id": second["id"], "result": "second"})
        await end.receive()

    async def body(connection: Connection) -> tuple[AppServerTimeoutError, Any, list[Any]]:
        with pytest.raises(AppServerTimeoutError) as info:
            await connection.request("initialize", {}, timeout=0.05)
        second = await connection.request("again", {}, timeout=None)
        await asyncio.sleep(0)
        return info.value, second, list(connection.protocol_errors)

    error, second, protocol_errors = run(server, body)
    assert error.kind == "appserver_timeout" and error.method == "initialize"
    assert second == "second"
    assert protocol_errors == []  # the late answer to the abandoned id is not a protocol error


def test_response_to_unknown_id_is_recorded_or_fatal_when_strict() -> None:
    async def server(end: MemoryTransport) -> None:
        frame = await end.receive()
        await end.send({"id": 999, "result": {}})
        await end.send({"id": frame["id"], "result": "ok"})
        await end.receive()

    async def lenient(connection: Connection) -> Any:
        result = await connection.request("m")
        return result, [e.kind for e in connection.protocol_errors]

    assert run(server, lenient) == ("ok", ["appserver_protocol"])

    async def strict(connection: Connection) -> str:
        with pytest.raises(AppServerProtocolError, match="unknown request id 999"):
            await connection.request("m")
        return "raised"

    assert run(server, strict, strict=True) == "raised"


def test_closing_fails_waiters_with_closed() -> None:
    async def server(end: MemoryTransport) -> None:
        while await end.receive() is not None:
            pass

    async def body(connection: Connection) -> Any:
        pending = asyncio.ensure_future(connection.request("never"))
        await asyncio.sleep(0)
        await connection.close()
        with pytest.raises(AppServerClosedError):
            await pending
        with pytest.raises(AppServerClosedError):
            await connection.request("after")
        return connection.failure

    assert isinstance(run(server, body), AppServerClosedError)


@pytest.mark.parametrize(
    "chunks",
    [
        # U+2028/U+2029 raw inside a string are not line breaks
        [('{"method":"n","params":{"text":"a\u2028b\u2029c"},"emittedAtMs":1}\n').encode()],
        # one frame split over three writes, and CRLF
        [b'{"method":"n","par', b'ams":{"text":"a\\u2028b\\u2029c"},', b'"emittedAtMs":1}\r\n'],
    ],
)
def test_framing_splits_on_newline_bytes_only(chunks: list[bytes]) -> None:
    async def server(end: MemoryTransport) -> None:
        for chunk in chunks:
            await end.send_line(chunk)
        await end.receive()

    async def body(connection: Connection) -> Any:
        with connection.subscribed() as notifications:
            return (await notifications.next()).params.raw["text"]

    assert run(server, body) == "a\u2028b\u2029c"


def test_long_lines_and_merged_frames() -> None:
    big = "x" * (3 * 1024 * 1024)
    payload = (
        json.dumps({"method": "n", "params": {"text": big}}).encode()
        + b"\n\n"
        + json.dumps({"method": "n", "params": {"text": "small"}}).encode()
        + b"\n"
    )

    async def server(end: MemoryTransport) -> None:
        await end.send_line(payload)
        await end.receive()

    async def body(connection: Connection) -> list[int]:
        with connection.subscribed() as notifications:
            return [len((await notifications.next()).params.raw["text"]) for _ in range(2)]

    assert run(server, body) == [len(big), 5]


def test_client_initialize_sends_initialized_and_defaults() -> None:
    frames: list[dict[str, Any]] = []

    async def server(end: MemoryTransport) -> None:
        init = await end.receive()
        frames.append(init)
        await end.send({"id": init["id"], "result": {"userAgent": "codex/0", "platformOs": "linux"}})
        frames.append(await end.receive())
        await end.receive()

    async def main() -> Any:
        client_end, server_end = memory_pair()
        task = asyncio.ensure_future(server(server_end))
        async with asyncio.timeout(10), AppServerClient.connect(client_end) as client:
            result = await client.initialize()
            while len(frames) < 2:
                await asyncio.sleep(0)
        await task
        return result

    result = asyncio.run(main())
    assert result.user_agent == "codex/0" and result.platform_os == "linux"
    assert frames[0]["method"] == "initialize" and frames[0]["params"]["capabilities"] == {"experimentalApi": True}
    assert frames[0]["params"]["clientInfo"]["name"] == "codex_parity_harness"
    assert frames[1] == {"method": "initialized"}


def test_a_plain_function_handler_is_accepted() -> None:
    got: list[Any] = []

    def handler(method: str, params: dict[str, Any]) -> Any:
        return {"answers": {"q": {"answers": [method, params["x"]]}}}

    async def server(end: MemoryTransport) -> None:
        await end.send({"id": 4, "method": "item/tool/requestUserInput", "params": {"x": 1}})
        got.append(await end.receive())
        await echo_server(end)

    async def body(connection: Connection) -> None:
        while not got:
            await asyncio.sleep(0)

    run(server, body, handler=handler)
    assert got == [{"id": 4, "result": {"answers": {"q": {"answers": ["item/tool/requestUserInput", 1]}}}}]
