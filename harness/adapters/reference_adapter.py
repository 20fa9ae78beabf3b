"""The reference SDK (:mod:`harness.reference`) behind the adapter protocol.

It exists to prove the protocol: the same cases run through this adapter -- in-process or as
``python -m harness.adapters.reference_adapter`` over stdio -- must give the observation the scenario
runner gets by calling the SDK directly. It is also the template for the Python SDK adapters: map options,
drive ``run``/``run_streamed``, map exceptions onto canonical kinds, let adapter bugs propagate (they become
``errored`` replies in :func:`~harness.adapters.protocol.dispatch`).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Mapping
from typing import Any

import harness
from harness.adapters.connection import Handler
from harness.adapters.protocol import (
    APPSERVER_CAPABILITIES,
    CAPABILITIES,
    Implementation,
    Run,
    dispatch,
    serve_stdio,
)

__all__ = ["ReferenceAdapter", "handler", "main"]


def _jsonable(value: Any) -> Any:
    from harness.reference.events import to_builtins

    return to_builtins(value)


def _error(exc: BaseException) -> dict[str, Any]:
    """``observation.error``: a CodexError knows its canonical kind; anything else is ``unknown``."""
    from harness.reference.errors import CodexError

    if isinstance(exc, CodexError):
        # details are JSON-able by contract; the round trip makes sure the reply can be written.
        data: dict[str, Any] = json.loads(json.dumps(exc.to_dict(), default=str))
        return data
    return {"kind": "unknown", "class": type(exc).__name__, "message": str(exc)}


class ReferenceAdapter:
    """Runs portable cases with ``harness.reference.Codex``; the events and items it reports are the exact
    JSON lines the reference SDK serializes (byte-exact copies of what codex printed)."""

    def implementation(self) -> Implementation:
        return Implementation(
            name="harness.reference",
            version=harness.__version__,
            language="python",
            sdk="harness.reference",
            capabilities=(*CAPABILITIES, *APPSERVER_CAPABILITIES),
            homepage=None,
        )

    async def run(self, request: Run) -> dict[str, Any]:
        if request.case.get("transport", "exec") == "app-server":
            records = await _run_appserver(request.case, request.codex_path, request.workdir)
        else:
            records = await self._run_turns(request.case, request.codex_path)
        last = records[-1]
        return {
            "observation": {
                "events": last["events"],
                "result": last["result"],
                "error": last["error"],
                "earlier_turns": records[:-1],
                "telemetry": [],
                "logs": [],
            }
        }

    async def _run_turns(self, case: Mapping[str, Any], codex_path: str) -> list[dict[str, Any]]:
        from harness.reference import Codex, CodexOptions, ThreadOptions

        turns: list[Mapping[str, Any]] = list(case["turns"])
        try:
            codex = Codex(CodexOptions.from_mapping({**case["codex_options"], "codex_path_override": codex_path}))
            thread_options = ThreadOptions.from_mapping(case["thread_options"])
            resume_id = case.get("resume_thread_id")
            thread = (
                codex.start_thread(thread_options)
                if resume_id is None
                else codex.resume_thread(resume_id, thread_options)
            )
        except Exception as exc:  # noqa: BLE001 - options the SDK rejects are an observation
            return [{"mode": turns[0]["mode"], "events": [], "result": None, "error": _error(exc)}]
        records: list[dict[str, Any]] = []
        for turn in turns:
            if turn.get("thread", "same") == "resume":
                if thread.id is None:
                    records.append(
                        {
                            "mode": turn["mode"],
                            "events": [],
                            "result": None,
                            "error": {
                                "kind": "unknown",
                                "class": "NoThreadId",
                                "message": "cannot resume: the previous turn produced no thread id",
                            },
                        }
                    )
                    break
                thread = codex.resume_thread(thread.id, thread_options)
            record = await self._run_turn(thread, turn)
            records.append(record)
            if record["error"] is not None:
                break
        return records

    async def _run_turn(self, thread: Any, turn: Mapping[str, Any]) -> dict[str, Any]:
        from harness.reference import AbortController, TurnOptions
        from harness.reference.events import serialize, serialize_item

        events: list[str] = []
        record: dict[str, Any] = {"mode": turn["mode"], "events": events, "result": None, "error": None}
        timer: asyncio.TimerHandle | None = None
        try:
            options: dict[str, Any] = dict(turn["turn_options"])
            if turn.get("abort_after_ms") is not None:
                controller = AbortController()
                options["signal"] = controller.signal
                timer = asyncio.get_running_loop().call_later(turn["abort_after_ms"] / 1000, controller.abort)
            turn_options = TurnOptions.from_mapping(options)
            if turn["mode"] == "run":
                result = await thread.run(turn["input"], turn_options)
                record["result"] = {
                    "thread_id": thread.id,
                    "final_response": result.final_response,
                    "items": [serialize_item(item) for item in result.items],
                    "usage": _jsonable(result.usage),
                }
            else:
                from harness.scenario.walk_away import consume_stream, walk_away_of

                walked = await consume_stream(
                    lambda: thread.run_streamed(turn["input"], turn_options), walk_away_of(turn.get("walk_away")),
                    lambda event: events.append(serialize(event)),
                )
                if not walked:
                    record["result"] = {"thread_id": thread.id, "final_response": None, "items": None, "usage": None}
        except Exception as exc:  # noqa: BLE001 - a failure of the SDK under test is data
            record["error"] = _error(exc)
        finally:
            if timer is not None:
                timer.cancel()
        return record


async def _run_appserver(case: Mapping[str, Any], codex_path: str, workdir: str) -> list[dict[str, Any]]:
    """An app-server case through the reference client, exactly as the scenario runner drives it
    (:func:`harness.scenario.transports.appserver.drive_reference`), from the case's fields alone."""
    from pathlib import Path

    from harness.scenario.model import ApprovalsSpec, Mode, ToolSpec, TurnSpec
    from harness.scenario.transports.appserver import drive_reference

    turns = [
        TurnSpec(
            input=turn["input"] if isinstance(turn["input"], str) else tuple(turn["input"]),
            mode=Mode(turn["mode"]),
            interrupt=turn.get("interrupt"),
            close_client=(turn.get("close_client") or {}).get("when"),
        )
        for turn in case["turns"]
    ]
    options = case.get("codex_options") or {}
    config = options.get("config")
    records = await drive_reference(
        Path(codex_path),
        workdir=Path(workdir),
        env=dict(options.get("env") or {}),
        config=dict(config) if isinstance(config, Mapping) else None,
        params=case["thread_params"],
        turns=turns,
        approvals=ApprovalsSpec.from_dict(case["approvals"]),
        tools=tuple(ToolSpec.from_dict(tool) for tool in case.get("tools") or ()),
        timeout=30.0,
    )
    return [_portable_record(record) for record in records]


_APPSERVER_RESULT = ("thread_id", "status", "final_response", "items", "usage")


def _portable_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A runner turn record as the protocol has it: the portable result keys (the runner also keeps the
    reference's own usage split), and an error kind outside the canonical ones reported as ``unknown``."""
    from harness.adapters.protocol import CANONICAL_KINDS

    out = dict(record)
    result = record.get("result")
    if isinstance(result, Mapping):
        out["result"] = {key: result.get(key) for key in _APPSERVER_RESULT}
    error = record.get("error")
    if isinstance(error, Mapping) and error.get("kind") not in CANONICAL_KINDS:
        out["error"] = {**error, "kind": "unknown"}
    return out


def handler() -> Handler:
    """A fresh reference adapter as an in-process handler: ``in_process_connection(handler())``."""
    return functools.partial(dispatch, ReferenceAdapter())


def main() -> int:
    """``python -m harness.adapters.reference_adapter``: serve the protocol on stdin/stdout."""
    return serve_stdio(ReferenceAdapter())


if __name__ == "__main__":
    raise SystemExit(main())
