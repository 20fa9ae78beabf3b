"""Adapters that drive other Codex SDKs through a JSON-lines protocol (docs/adapters.md).

::

    protocol     wire messages, schemas (schemas/*.json), results (Observed | Skipped | Errored), adapter side
    connection   Connection.request(message) -> Reply; subprocess_connection, in_process_connection
    client       AdapterClient (seq, schema, timeouts, stderr, restart + replay), BlockingAdapterClient
    registry     known adapters: list_adapters(), connector_for(id); ad-hoc ones: parse_adapter_option("ID=COMMAND")
    check        harness adapters check: the protocol conformance of any adapter command (docs/adapter-check.md)
    skeleton     harness adapters new: a minimal adapter that passes the check, to fill with an SDK call
    reference_adapter   the reference SDK behind the protocol (python -m harness.adapters.reference_adapter)
"""

from harness.adapters.client import AdapterClient, BlockingAdapterClient
from harness.adapters.connection import (
    Connection,
    ConnectionLost,
    Connector,
    InProcessConnection,
    Reply,
    ReplyTimeout,
    SubprocessConnection,
    in_process_connection,
    subprocess_connection,
)
from harness.adapters.protocol import (
    CANONICAL_KINDS,
    CAPABILITIES,
    VERSION,
    Errored,
    Implementation,
    Observed,
    RunResult,
    Skipped,
    non_portable_reason,
    portable_case,
    required_capabilities,
)
from harness.adapters.registry import (
    AdapterSpec,
    AdapterStatus,
    AdhocAdapter,
    AdhocAdapterError,
    connector_for,
    get_adapter,
    list_adapters,
    parse_adapter_option,
)

__all__ = [
    "CANONICAL_KINDS",
    "CAPABILITIES",
    "VERSION",
    "AdapterClient",
    "AdapterSpec",
    "AdapterStatus",
    "AdhocAdapter",
    "AdhocAdapterError",
    "BlockingAdapterClient",
    "Connection",
    "ConnectionLost",
    "Connector",
    "Errored",
    "Implementation",
    "InProcessConnection",
    "Observed",
    "Reply",
    "ReplyTimeout",
    "RunResult",
    "Skipped",
    "SubprocessConnection",
    "connector_for",
    "get_adapter",
    "in_process_connection",
    "list_adapters",
    "non_portable_reason",
    "parse_adapter_option",
    "portable_case",
    "required_capabilities",
    "subprocess_connection",
]
