"""Normalization rules (docs/normalization.md); above all, a secret never reaches a golden."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.golden.store import render_golden
from harness.scenario import golden_document, load_scenario, normalize, observe
from harness.scenario.normalize import LONG_STRING, NormalizationContext

SECRET = "sk-live-ABCDEF0123456789abcdef"


def test_paths_become_placeholders(tmp_path: Path) -> None:
    workdir = tmp_path / "wd"
    ctx = NormalizationContext(
        workdir=workdir,
        home=workdir / "home",
        codex_home=workdir / "codex-home",
        codex_path=workdir / "fake" / "codex",
        cwd=tmp_path / "project",
    )
    observed = {
        "invocations": [
            {
                "argv": [str(workdir / "fake" / "codex"), "--cd", str(workdir / "ws"), "--add-dir", str(workdir) + "x"],
                "cwd": str(tmp_path / "project"),
                "env": {"HOME": str(workdir / "home"), "CODEX_HOME": str(workdir / "codex-home")},
            }
        ]
    }
    out = normalize(observed, ctx)["invocations"][0]
    assert out["argv"] == ["<codex>", "--cd", "<workdir>/ws", "--add-dir", out["argv"][4]]
    assert not out["argv"][4].startswith("<workdir>")  # not at a path boundary: left alone
    assert out["cwd"] == "<cwd>"
    assert out["env"] == {"HOME": "<home>", "CODEX_HOME": "<codex-home>"}


def test_thread_ids_numbered_in_order_of_appearance() -> None:
    a, b = "0199a000-0000-7000-8000-00000000000a", "0199a000-0000-7000-8000-00000000000b"
    observed = {
        "events": [json.dumps({"type": "thread.started", "thread_id": b}), json.dumps({"x": f"see {a}"})],
        "invocations": [{"argv": ["exec", "resume", a]}],
        "result": {"thread_id": b},
    }
    out = normalize(observed)
    assert out["events"][0] == '{"type": "thread.started", "thread_id": "<thread:1>"}'
    assert out["events"][1] == '{"x": "see <thread:2>"}'
    assert out["invocations"][0]["argv"] == ["exec", "resume", "<thread:2>"]
    assert out["result"]["thread_id"] == "<thread:1>"


def test_schema_file_timestamps_durations_long_strings() -> None:
    observed = {
        "invocations": [{"argv": ["--output-schema", "/var/x/codex-output-schema-k2/schema.json"]}],
        "error": {"message": "at 2026-11-23T20:18:36.605113Z failed /tmp/codex-output-schema-zz/schema.json"},
        "events": ['{"type":"item.completed","item":{"duration_ms":1234,"elapsed": 2.5}}'],
        "logs": [{"duration_ms": 17, "name": "x"}, "y" * (LONG_STRING + 1)],
    }
    out = normalize(observed)
    assert out["invocations"][0]["argv"] == ["--output-schema", "<schema-file>"]
    assert out["error"]["message"] == "at <timestamp> failed <schema-file>"
    assert out["events"][0] == '{"type":"item.completed","item":{"duration_ms":"<duration>","elapsed": "<duration>"}}'
    assert out["logs"][0] == {"duration_ms": "<duration>", "name": "x"}
    assert out["logs"][1].startswith(f"<long string: {LONG_STRING + 1} chars, sha256 ")


def test_secrets_are_redacted_everywhere() -> None:
    observed = {
        "invocations": [
            {
                "argv": ["--config", f'openai_api_key="{SECRET}"'],
                "stdin": "my token is hunter2-very-secret",
                "env": {"CODEX_API_KEY": "abcd-plain-looking", "MY_SERVICE_TOKEN": "hunter2-very-secret", "LANG": "C"},
            }
        ],
        "error": {"message": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload and abcd-plain-looking"},
    }
    out = normalize(observed, NormalizationContext(secrets=("given-secret-value",)))
    text = json.dumps(out)
    for secret in (SECRET, "hunter2-very-secret", "abcd-plain-looking", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in text
    assert out["invocations"][0]["env"] == {
        "CODEX_API_KEY": "<redacted>",
        "MY_SERVICE_TOKEN": "<redacted>",
        "LANG": "C",
    }
    assert out["error"]["message"] == "Authorization: Bearer <redacted> and <redacted>"


@settings(max_examples=60, deadline=None)
@given(secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FF), min_size=4, max_size=40))
def test_a_given_secret_never_survives(secret: str) -> None:
    observed = {
        "invocations": [{"argv": [f"--x={secret}"], "stdin": secret * 2, "env": {"CODEX_API_KEY": secret}}],
        "error": {"message": f"boom {secret}!"},
        "events": [json.dumps({"text": secret}, ensure_ascii=False)],
    }
    out = normalize(observed, NormalizationContext(secrets=(secret,)))
    # values only: a secret like "mess" is a substring of the key "message", which is structure, not a leak
    assert not [value for value in _strings(out) if secret in value]


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_normalize_is_idempotent_and_pure() -> None:
    observed: dict[str, Any] = {"result": {"thread_id": "0199a000-0000-7000-8000-00000000000a"}, "error": None}
    once = normalize(observed)
    assert normalize(once) == once
    assert observed["result"]["thread_id"] == "0199a000-0000-7000-8000-00000000000a"


def test_secret_never_reaches_a_golden_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "scenarios" / "sec"
    root.mkdir(parents=True)
    path = root / "api_key.yaml"
    path.write_text(
        "title: an api key and a secret env var\n"
        "plan:\n  steps:\n"
        "    - events:\n        - {type: thread.started, thread_id: 0199a000-0000-7000-8000-0000000000aa}\n"
        "        - {type: turn.started}\n"
        "        - {type: turn.completed, usage: {input_tokens: 1, cached_input_tokens: 0, output_tokens: 1}}\n"
        "      faults:\n        echo_stdin: {after: 2}\n"
        "options:\n  codex:\n"
        f"    api_key: {SECRET}\n"
        "    env: {SERVICE_PASSWORD: pw-0123456789}\n"
        f"input: 'please repeat {SECRET} and pw-0123456789'\n"
        "mode: streamed\n",
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    observed = observe(scenario)
    text = render_golden(golden_document(scenario, observed))
    assert SECRET not in text and "pw-0123456789" not in text
    assert observed["invocations"][0]["env"]["CODEX_API_KEY"] == "<redacted>"
    assert observed["invocations"][0]["env"].get("SERVICE_PASSWORD", "<redacted>") == "<redacted>"
    assert observed["invocations"][0]["stdin"] == "please repeat <redacted> and <redacted>"
    assert "<thread:1>" in text


def test_correlation_ids_numbered_in_order_of_appearance() -> None:
    first, second = "scenario-0123456789abcdef", "other-cid-42"
    observed = {
        "telemetry": [
            {"name": "codex.turn.start", "measurements": {}, "metadata": {}, "correlation_id": second},
            {"name": "codex.turn.stop", "measurements": {}, "metadata": {}, "correlation_id": None},
        ],
        "logs": [{"correlation_id": first, "message": f"under {second}"}],
        "error": {"message": f"raised under {first}"},
    }
    out = normalize(observed, NormalizationContext(correlation_ids=(first,)))
    # canonical walk: "error" < "logs" < "telemetry", so `first` is met before `second`
    assert out["error"]["message"] == "raised under <cid:1>"
    assert out["logs"] == [{"correlation_id": "<cid:1>", "message": "under <cid:2>"}]
    assert [t["correlation_id"] for t in out["telemetry"]] == ["<cid:2>", None]
    assert normalize(out) == out


def test_telemetry_and_logs_records_are_normalized() -> None:
    thread = "0199a000-0000-7000-8000-0000000000ee"
    measurements: dict[str, Any] = {"duration_ms": 12.345, "input_tokens": 10}
    metadata: dict[str, Any] = {"thread_id": thread, "mode": "run", "outcome": "completed"}
    record = {
        "name": "codex.turn.stop",
        "measurements": measurements,
        "metadata": metadata,
        "correlation_id": "scenario-feedface",
    }
    log = {
        "level": "INFO",
        "logger": "harness.reference",
        "message": "codex.turn.stop",
        "correlation_id": "scenario-feedface",
        "measurements": dict(measurements),
        "metadata": dict(metadata),
    }
    out = normalize({"result": {"thread_id": thread}, "telemetry": [record], "logs": [log]})
    assert out["telemetry"][0] == {
        "name": "codex.turn.stop",
        "measurements": {"duration_ms": "<duration>", "input_tokens": 10},
        "metadata": {"thread_id": "<thread:1>", "mode": "run", "outcome": "completed"},
        "correlation_id": "<cid:1>",
    }
    assert out["logs"][0]["measurements"] == {"duration_ms": "<duration>", "input_tokens": 10}
    assert out["logs"][0]["metadata"]["thread_id"] == "<thread:1>"
    assert out["logs"][0]["correlation_id"] == "<cid:1>"


def test_long_json_text_is_digested_over_its_content_not_its_key_order() -> None:
    from harness.scenario.normalize import LONG_STRING, normalize

    big = "x" * (LONG_STRING + 10)
    codex_order = json.dumps({"id": "item_1", "type": "command_execution", "aggregated_output": big, "exit_code": 0})
    sdk_order = json.dumps({"id": "item_1", "aggregated_output": big, "exit_code": 0, "type": "command_execution"})
    a = normalize({"events": [codex_order]})["events"][0]
    b = normalize({"events": [sdk_order]})["events"][0]
    assert a == b and a.startswith("<long string: ")
    changed = json.dumps({"id": "item_1", "type": "command_execution", "aggregated_output": big + "!", "exit_code": 0})
    assert normalize({"events": [changed]})["events"][0] != a
