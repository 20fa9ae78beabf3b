"""The reference client of ``codex app-server`` (JSON-RPC over stdio); see ``docs/app-server.md``.

- :mod:`.transport`: the ``Transport`` seam (subprocess, in-memory) and line framing;
- :mod:`.connection`: JSON-RPC: typed ids, concurrent server requests, notification fan-out, failures;
- :mod:`.messages`: typed, tolerant models of every message (unknowns preserved, exact JSON round trip);
- :mod:`.client` / :mod:`.thread`: the protocol's vocabulary and the turn logic (``run``, ``run_streamed``);
- :mod:`.errors`: the ``CodexError`` kinds of this transport.
"""

from harness.reference.appserver.client import (
    DEFAULT_APP_SERVER_ARGS,
    DEFAULT_CLIENT_INFO,
    AppServerClient,
    build_app_server_argv,
)
from harness.reference.appserver.connection import (
    INTERNAL_ERROR,
    METHOD_NOT_FOUND,
    Connection,
    Handler,
    NoReply,
    Reply,
    RpcErrorReply,
    Subscription,
)
from harness.reference.appserver.errors import (
    AppServerClosedError,
    AppServerError,
    AppServerExitedError,
    AppServerProtocolError,
    AppServerTimeoutError,
    AppServerTurnFailedError,
    JsonRpcError,
)
from harness.reference.appserver.inputs import TurnInput, build_input
from harness.reference.appserver.messages import (
    Message,
    Notification,
    ServerRequest,
    ThreadItem,
    parse_item,
    parse_message,
)
from harness.reference.appserver.thread import AppServerStreamedTurn, AppServerThread, AppServerTurn
from harness.reference.appserver.transport import MemoryTransport, SubprocessTransport, Transport, memory_pair

__all__ = [
    "AppServerClient",
    "AppServerClosedError",
    "AppServerError",
    "AppServerExitedError",
    "AppServerProtocolError",
    "AppServerStreamedTurn",
    "AppServerThread",
    "AppServerTimeoutError",
    "AppServerTurn",
    "AppServerTurnFailedError",
    "Connection",
    "DEFAULT_APP_SERVER_ARGS",
    "DEFAULT_CLIENT_INFO",
    "Handler",
    "INTERNAL_ERROR",
    "JsonRpcError",
    "METHOD_NOT_FOUND",
    "MemoryTransport",
    "Message",
    "NoReply",
    "Notification",
    "Reply",
    "RpcErrorReply",
    "ServerRequest",
    "SubprocessTransport",
    "Subscription",
    "ThreadItem",
    "Transport",
    "TurnInput",
    "build_app_server_argv",
    "build_input",
    "memory_pair",
    "parse_item",
    "parse_message",
]
