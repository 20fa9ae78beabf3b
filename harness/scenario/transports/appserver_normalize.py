"""App-server specifics of normalization, applied before the runner's rules (:mod:`harness.scenario.normalize`).

codex stamps every notification (``emittedAtMs``) and many items (``startedAt``, ``durationMs``, ``*AtMs``) with
times, and the client's ``initialize`` carries its own identity (``clientInfo``); none of that is behaviour, so
those keys are dropped at every depth -- the same keys the fake app-server ignores when it compares a client with
the recording (:mod:`harness.fake.appserver.normalize`), except ``cwd``, which is kept (the path rules turn the
workdir into ``<workdir>``, and a client that sends another workspace really differs). The fake's report is turned
into the ``requests``, ``replies`` and ``divergence`` parts here too (docs/adapters.md, "The app-server
observation").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["VOLATILE_KEYS", "as_objects", "drop_volatile", "fake_parts", "stable_telemetry"]

#: Keys dropped at every depth of an app-server observation (plus any key ending in ``AtMs``).
VOLATILE_KEYS: frozenset[str] = frozenset(
    {"clientInfo", "emittedAtMs", "createdAt", "updatedAt", "recencyAt", "startedAt", "completedAt", "durationMs"}
)

#: Telemetry kept in an app-server golden: the decisions and tool calls (their timings are dropped).
_STABLE_TELEMETRY = ("codex.approval.", "codex.tool.")


def drop_volatile(value: Any) -> Any:
    """``value`` without :data:`VOLATILE_KEYS` (and ``*AtMs``) at any depth; a new value."""
    if isinstance(value, Mapping):
        return {k: drop_volatile(v) for k, v in value.items() if k not in VOLATILE_KEYS and not k.endswith("AtMs")}
    if isinstance(value, list):
        return [drop_volatile(v) for v in value]
    return value


def _object(value: Any) -> Any:
    if isinstance(value, str) and value[:1] == "{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _record_objects(record: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    if isinstance(record.get("events"), list):
        out["events"] = [_object(event) for event in record["events"]]
    result = record.get("result")
    if isinstance(result, Mapping) and isinstance(result.get("items"), list):
        out["result"] = {**result, "items": [_object(item) for item in result["items"]]}
    return out


def as_objects(observation: Mapping[str, Any]) -> dict[str, Any]:
    """Events and items an adapter sent as JSON text, as objects (app-server goldens hold objects, and the
    volatile keys can only be dropped from objects)."""
    out = _record_objects(observation)
    if isinstance(observation.get("earlier_turns"), list):
        out["earlier_turns"] = [
            _record_objects(turn) if isinstance(turn, Mapping) else turn for turn in observation["earlier_turns"]
        ]
    return out


def fake_parts(report: Any) -> dict[str, Any]:
    """``requests``, ``replies`` and ``divergence`` from a :class:`~harness.fake.appserver.ReplayReport`
    (``None``: the fake wrote no report, which is itself reported as a divergence ``no_report``)."""
    if report is None:
        return {
            "requests": [],
            "replies": [],
            "divergence": {"reason": "no_report", "index": None, "method": None, "expected": None, "got": None,
                           "detail": "the fake app-server wrote no report (killed before it could?)"},
        }
    requests: list[dict[str, Any]] = []
    answers: dict[tuple[str, Any], Mapping[str, Any]] = {}
    for entry in report.messages:
        msg = entry.get("msg")
        if entry.get("dir") != "c2s" or not isinstance(msg, Mapping):
            continue
        if "method" in msg:
            request: dict[str, Any] = {"method": msg["method"]}
            if "params" in msg:
                request["params"] = msg["params"]
            requests.append(request)
        elif "id" in msg:
            answers.setdefault((type(msg["id"]).__name__, msg["id"]), msg)
    replies: list[dict[str, Any]] = []
    for verdict in report.replies:
        reply: dict[str, Any] = {"method": verdict.get("method"), "kind": verdict.get("got")}
        rid = verdict.get("id")
        sent = answers.get((type(rid).__name__, rid))
        if sent is not None and verdict.get("got") != "no_reply":
            if "result" in sent:
                reply["result"] = sent["result"]
            if "error" in sent:
                error = sent["error"]
                reply["error"] = {"code": error.get("code"), "message": error.get("message")} if isinstance(
                    error, Mapping) else error
        replies.append(reply)
    divergence: dict[str, Any] | None = None
    if report.divergence is not None:
        raw = report.divergence.to_dict()
        divergence = {key: raw.get(key) for key in ("reason", "index", "method", "expected", "got", "detail")}
    return {"requests": requests, "replies": replies, "divergence": divergence}


def stable_telemetry(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The approval and tool events of a run (name and metadata; measurements are timings)."""
    return [
        {"name": r["name"], "metadata": r.get("metadata", {})}
        for r in records
        if isinstance(r.get("name"), str) and r["name"].startswith(_STABLE_TELEMETRY)
    ]
