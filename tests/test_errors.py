"""The error taxonomy: published kinds, TS texts, retry metadata, the canonical dict view."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from harness.reference import errors as E

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"


def test_kinds_are_the_published_contract() -> None:
    kinds = {
        cls.__name__: cls.kind
        for cls in (
            E.CodexError, E.ExitError, E.SignalError, E.EventParseError, E.LineTooLongError,
            E.TurnFailedError,
            E.StreamError, E.IdleTimeoutError, E.AbortError, E.BinaryNotFoundError, E.InvalidOptionsError,
        )
    }  # fmt: skip
    assert kinds == {
        "CodexError": "codex_error",
        "ExitError": "exit",
        "SignalError": "signal",
        "EventParseError": "parse",
        "LineTooLongError": "line_too_long",
        "TurnFailedError": "turn_failed",
        "StreamError": "stream_error",
        "IdleTimeoutError": "idle_timeout",
        "AbortError": "abort",
        "BinaryNotFoundError": "binary_missing",
        "InvalidOptionsError": "invalid_options",
    }


def test_hierarchy() -> None:
    assert issubclass(E.SignalError, E.ExitError)
    assert issubclass(E.LineTooLongError, E.EventParseError)
    assert issubclass(E.InvalidOptionsError, ValueError)
    for name in E.__all__:
        obj = getattr(E, name)
        if isinstance(obj, type):
            assert issubclass(obj, E.CodexError)


def test_ts_texts() -> None:
    assert str(E.ExitError(1, "Reading prompt from stdin...\n")) == (
        "Codex Exec exited with code 1: Reading prompt from stdin...\n"
    )
    assert str(E.SignalError(signal.SIGKILL, "")) == "Codex Exec exited with signal SIGKILL: "
    assert str(E.SignalError(250, "x")) == "Codex Exec exited with signal 250: x"
    assert str(E.EventParseError("this is not json", "bad")) == "Failed to parse item: this is not json"
    assert str(E.AbortError()) == "The operation was aborted"
    assert str(E.BinaryNotFoundError(None)) == (
        "Unable to locate Codex CLI binaries. Ensure @openai/codex is installed with optional dependencies."
    )
    assert str(E.TurnFailedError("boom")) == "boom"


def test_to_dict_is_json_and_carries_details() -> None:
    cases = [
        (E.ExitError(2, "x"), {"exit_code": 2}),
        (E.SignalError(signal.SIGTERM), {"signal": "SIGTERM", "signal_number": int(signal.SIGTERM)}),
        (E.EventParseError("l", "r", line_number=3), {"line_number": 3}),
        (E.EventParseError("l", "r"), None),
        (E.IdleTimeoutError(1.5), {"retryable": True, "seconds": 1.5}),
        (E.BinaryNotFoundError("/x", "nope"), {"path": "/x"}),
        (E.AbortError(), None),
        (E.InvalidOptionsError("bad"), None),
        (E.TurnFailedError("Rate limit reached. Please try again in 1.5s."),
         {"retryable": True, "retry_after": 1.5}),
    ]  # fmt: skip
    for error, details in cases:
        data = error.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data["kind"] == error.kind and data["class"] == type(error).__name__
        assert data.get("details") == details, error


def test_describe_names_line_and_reason() -> None:
    err = E.EventParseError("x" * 300, "not JSON", line_number=4)
    assert err.describe().startswith("line 4: not JSON: xxx") and err.describe().endswith("…")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("Rate limit reached for gpt-5 in organization org-x. Please try again in 1.5s.", 1.5),
        ("Please try again in 20ms.", 0.02),
        ("try again in 2 seconds", 2.0),
        ("Try again in 3 minutes", 180.0),
        ("429 Too Many Requests (retry-after: 7)", 7.0),
        ("Retry-After: 0", 0.0),
        ("exceeded retry limit, last status: 429 Too Many Requests", None),
        ("We’re currently experiencing high demand, which may cause temporary errors.", None),
        ("", None),
    ],
)
def test_extract_retry_after(text: str, seconds: float | None) -> None:
    assert E.extract_retry_after(text) == seconds


def test_retry_classification_of_every_recorded_failure() -> None:
    """Every ``turn.failed`` in the real transcripts, classified; the expectation is written down per case."""
    expected = {
        "fail_400": False,
        "fail_429": True,
        "fail_500": True,
        "fail_after_shell": True,
        "fail_connection_refused": True,
        "fail_idle_timeout": True,
        "fail_missing_api_key_env": False,
        "fail_sse_failed": True,
        "fail_stream_cut": True,
        "retry_reconnecting_sse": True,
    }
    seen: dict[str, bool] = {}
    for path in sorted(REAL.glob("*/*.jsonl")):
        for line in [raw for raw in path.read_bytes().split(b"\n") if raw.strip()]:  # never splitlines(): U+2028
            event = json.loads(line)
            if event.get("type") == "turn.failed":
                error = E.TurnFailedError(event["error"]["message"], event["error"])
                seen[path.stem] = error.retryable
                assert error.payload == event["error"]
    for case, retryable in expected.items():
        if case in seen:
            assert seen[case] is retryable, (case, seen[case])
    assert seen, "no turn.failed in the real fixtures"


def test_stream_error_metadata() -> None:
    err = E.StreamError("Reconnecting... 1/5 (stream disconnected before completion: x)")
    assert err.kind == "stream_error" and err.retryable and err.retry_after is None


def test_line_too_long_text() -> None:
    err = E.LineTooLongError(64, line_number=9, prefix="abc")
    assert str(err) == "Failed to parse item: line 9 exceeds the 64-byte limit"
    assert err.raw_line == "abc" and isinstance(err, E.EventParseError)


def test_the_public_surface_is_sorted_and_every_name_resolves() -> None:
    import harness.reference as reference

    assert reference.__all__ == sorted(reference.__all__)
    for name in reference.__all__:
        assert getattr(reference, name) is not None, name
    assert set(reference.__all__) <= set(dir(reference))
