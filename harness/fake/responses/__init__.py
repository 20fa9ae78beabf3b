"""A fake OpenAI Responses API server for driving the **real** codex binary offline.

:class:`FakeResponsesServer` (127.0.0.1 only) answers ``POST /v1/responses`` with the SSE stream codex reads; a
:class:`Responder` decides what: :class:`ScriptedResponder` plays a :class:`Script` (one response per expected
model request, parsed from case data by :func:`parse_script`). Every request is recorded, credentials redacted.
"""

from harness.fake.responses.render import Answer, IdSource, RequestView, render
from harness.fake.responses.script import (
    Cut,
    Hang,
    HttpError,
    Message,
    PatchCall,
    PlanUpdate,
    RawItem,
    Reasoning,
    SchemaMessage,
    Script,
    ScriptError,
    ShellCall,
    Stream,
    StreamFailed,
    ToolCall,
    ToolSearch,
    Usage,
    WebSearch,
    parse_script,
)
from harness.fake.responses.server import (
    FakeResponsesServer,
    Responder,
    ScriptedResponder,
    redact_headers,
    sse_bytes,
)

__all__ = [
    "Answer",
    "Cut",
    "FakeResponsesServer",
    "Hang",
    "HttpError",
    "IdSource",
    "Message",
    "PatchCall",
    "PlanUpdate",
    "RawItem",
    "Reasoning",
    "RequestView",
    "Responder",
    "SchemaMessage",
    "Script",
    "ScriptError",
    "ScriptedResponder",
    "ShellCall",
    "Stream",
    "StreamFailed",
    "ToolCall",
    "ToolSearch",
    "Usage",
    "WebSearch",
    "parse_script",
    "redact_headers",
    "render",
    "sse_bytes",
]
