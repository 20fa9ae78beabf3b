"""The Vercel AI SDK provider peer (``ai-sdk-codex``: npm ``ai-sdk-provider-codex-cli`` driven through ``ai``),
driven by hand over the adapter protocol against the fake codex replaying real transcripts.

Besides the common path, the tests pin the provider's own choices that the baseline explains
(baselines/ai-sdk-codex.yaml): its argv (``-c approval_policy/sandbox_mode``, ``-m``, ``--output-last-message``,
``-``), the ``User:`` transcript on stdin, the merged environment with ``RUST_LOG=error``, exit-before-turn.failed,
a failing top-level ``error`` event, ignored unparseable lines, lines lost at stdout chunk boundaries, abort
reported as a signal, images copied to temp files, the sanitized output schema, and the cases it cannot run.

The adapter is installed (idempotently) into the adapter cache by the module fixture, like
``harness adapters install ai-sdk-codex``; the process runs with its own ``TMPDIR`` and a leak token, so each test
also proves the provider removed its temp files and the fake codex was reaped.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import install as install_module
from harness.adapters.install import AI_SDK_PACKAGES, AI_SDK_PROVIDER_VERSION, PEERS, find_installed, install
from harness.adapters.protocol import schema_errors
from harness.adapters.registry import get_adapter, status_of
from harness.fake import Plan, build_fake, read_log
from harness.fake.testing import LEAK_TOKEN_VAR, token_leaks

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "real" / "0.169.0"
THREAD_ID = "01a20a0f-55e7-7642-b4ea-1176ee084595"  # agent_message.jsonl
KEY = "ai-sdk-codex"
REPLY_TIMEOUT = 60.0
PROBE_VAR = "CODEX_AI_SDK_PROBE"  # set in the adapter's own environment: the provider passes it on


class Adapter:
    """The adapter process, driven over stdin/stdout, with a private TMPDIR and a leak token."""

    def __init__(self, command: tuple[str, ...], root: Path) -> None:
        self.tmpdir = root / "tmp"
        self.tmpdir.mkdir()
        self.token = os.urandom(8).hex()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_FAKE_")}
        env.update({"TMPDIR": str(self.tmpdir), LEAK_TOKEN_VAR: self.token, PROBE_VAR: "inherited"})
        self.stderr_path = root / "adapter.stderr"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env
        )
        self.seq = 0

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], REPLY_TIMEOUT)
        assert ready, f"no reply within {REPLY_TIMEOUT}s; stderr: {self.stderr_path.read_text()[-2000:]}"
        line = self.proc.stdout.readline()
        assert line, f"adapter closed stdout; stderr: {self.stderr_path.read_text()[-2000:]}"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, case: Mapping[str, Any], codex_path: Path, workdir: Path) -> dict[str, Any]:
        self.seq += 1
        message = {"cmd": "run", "seq": self.seq, "case": case, "codex_path": str(codex_path), "workdir": str(workdir)}
        reply = self.request(message)
        assert reply.get("seq") == self.seq, reply
        assert schema_errors("run-reply", reply) == []
        assert "errored" not in reply, reply["errored"]
        # every case leaves the provider's temp files (last message, schema, images) removed, the fake reaped
        assert list(self.tmpdir.iterdir()) == []
        assert self.leaks() == []
        return reply

    def leaks(self) -> list[str]:
        """Processes with this adapter's token other than the adapter itself (a fake codex not reaped)."""
        deadline = time.monotonic() + 1.0
        while True:
            found = [leak for leak in token_leaks(self.token) if not leak.startswith(f"{self.proc.pid} ")]
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.02)

    def observe(self, case: Mapping[str, Any], codex_path: Path, workdir: Path) -> dict[str, Any]:
        observation: dict[str, Any] = self.run(case, codex_path, workdir)["observation"]
        return observation

    def stop(self) -> int:
        if self.proc.poll() is None:
            assert self.request({"cmd": "stop"}) == {"ok": True}
            code = self.proc.wait(timeout=30)
        else:
            code = self.proc.returncode
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self._stderr.close()
        return code


@pytest.fixture(scope="module")
def started() -> Iterator[tuple[Adapter, dict[str, Any]]]:
    installed = install(KEY)  # idempotent: finds the pinned packages in the cache, or npm-installs them
    with tempfile.TemporaryDirectory(prefix="peer-ai-sdk-") as tmp:
        adapter = Adapter(installed.command, Path(tmp))
        try:
            start = adapter.request({"cmd": "start", "version": 1})
            assert schema_errors("start-reply", start) == []
            yield adapter, start["implementation"]
        finally:
            code = adapter.stop()
        assert code == 0
        assert token_leaks(adapter.token) == []


@pytest.fixture
def adapter(started: tuple[Adapter, dict[str, Any]]) -> Adapter:
    return started[0]


def _fake(tmp_path: Path, steps: list[dict[str, Any]]) -> tuple[Path, Path]:
    log = tmp_path / "codex.log.jsonl"
    exe = build_fake(Plan.from_mapping({"steps": steps}, base_dir=FIXTURES), tmp_path / "fake", log_path=log)
    return exe, log


def _case(turns: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": "peer/ai-sdk",
        "turns": turns,
        "codex_options": {"env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}},
        "thread_options": {"skip_git_repo_check": True},
        "resume_thread_id": None,
    }
    case.update(extra)
    return case


def _turn(input: Any = "Say hello", mode: str = "run", **turn_options: Any) -> dict[str, Any]:
    return {"input": input, "mode": mode, "turn_options": turn_options}


def _tail(argv: tuple[str, ...]) -> list[str]:
    """argv after ``exec --experimental-json``, with the random last-message path folded."""
    assert argv[:2] == ("exec", "--experimental-json")
    rest = list(argv[2:])
    where = rest.index("--output-last-message")
    assert "/codex-cli-" in rest[where + 1] and rest[where + 1].endswith("/last-message.txt")
    rest[where + 1] = "<last-message>"
    return rest


DEFAULT_ARGV = ["-c", "approval_policy=on-request", "-c", "sandbox_mode=workspace-write", "--skip-git-repo-check"]


# ------------------------------------------------------------------------------------------- installing


def test_start_reports_the_installed_provider(started: tuple[Adapter, dict[str, Any]]) -> None:
    _, implementation = started
    installed = find_installed(KEY)
    assert installed is not None
    manifest = installed.location / "node_modules" / "ai-sdk-provider-codex-cli" / "package.json"
    assert implementation["version"] == json.loads(manifest.read_text())["version"] == AI_SDK_PROVIDER_VERSION
    assert implementation["name"] == implementation["sdk"] == PEERS[KEY].package
    assert implementation["language"] == "javascript"
    # no threads and no idle timeout in the exec provider: the harness skips those cases before sending them
    assert implementation["capabilities"] == ["run", "streamed", "local_image", "output_schema", "abort", "walk_away"]


def test_install_pins_the_provider_and_its_peer_dependencies() -> None:
    manifest = json.loads((ROOT / "harness" / "adapters" / "ai-sdk" / "package.json").read_text())
    assert manifest["dependencies"] == AI_SDK_PACKAGES
    installed = install(KEY)
    assert installed.seconds == 0.0  # the module fixture installed it already: nothing to do
    for package, version in AI_SDK_PACKAGES.items():
        found = json.loads((installed.location / "node_modules" / package / "package.json").read_text())
        assert found["version"] == version
    # --omit=optional: the provider's optional @openai/codex (and its platform binary) is never installed
    assert not (installed.location / "node_modules" / "@openai" / "codex").exists()
    assert installed.command[-1] == str(installed.location / "adapter.mjs")


def test_registry_lists_the_peer_and_an_empty_cache_is_not_installed(tmp_path: Path) -> None:
    spec = get_adapter(KEY)
    assert spec.script == ROOT / "harness" / "adapters" / "ai-sdk" / "adapter.mjs"
    assert (spec.package, spec.pinned) == ("ai-sdk-provider-codex-cli", AI_SDK_PROVIDER_VERSION)
    status = status_of(spec, cache_dir=tmp_path)
    assert not status.installed and status.command == ()
    assert status.install_hint == "python -m harness.adapters.install ai-sdk-codex"
    assert find_installed(KEY, tmp_path) is None


def test_install_module_all_is_sorted_and_resolves() -> None:
    """install's ``__all__`` keeps its isort-style order (ruff RUF022): constants, classes, then functions."""
    names = install_module.__all__

    def group(name: str) -> int:
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert names == sorted(names, key=lambda name: (group(name), name))
    assert all(hasattr(install_module, name) for name in names)


def test_protocol_errors_are_errored_replies_and_the_process_lives_on(adapter: Adapter, tmp_path: Path) -> None:
    unknown = adapter.request({"cmd": "frobnicate", "seq": 99})
    assert unknown["seq"] == 99 and unknown["errored"]["message"] == 'unknown command "frobnicate"'
    assert schema_errors("run-reply", unknown) == []
    assert "unsupported protocol version 2" in adapter.request({"cmd": "start", "version": 2})["errored"]["message"]
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    assert adapter.observe(_case([_turn()]), exe, tmp_path)["result"]["final_response"] == "Hello from fake server"


# ---------------------------------------------------------------------------------------------- run mode


def test_run_is_generate_text(adapter: Adapter, tmp_path: Path) -> None:
    exe, log = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    observation = adapter.observe(_case([_turn()]), exe, tmp_path)
    assert observation["error"] is None and observation["events"] == [] and observation["earlier_turns"] == []
    result = observation["result"]
    assert result["final_response"] == "Hello from fake server"
    assert result["thread_id"] == THREAD_ID  # providerMetadata["codex-cli"].sessionId
    assert result["items"] == [{"type": "text", "text": "Hello from fake server"}]  # AI SDK content parts
    usage = result["usage"]
    assert (usage["inputTokens"], usage["outputTokens"], usage["totalTokens"]) == (10, 5, 15)
    assert usage["raw"] == {
        "input_tokens": 10,
        "cached_input_tokens": 0,
        "cache_write_input_tokens": 0,
        "output_tokens": 5,
        "reasoning_output_tokens": 0,
    }
    [invocation] = read_log(log)
    assert _tail(invocation.argv) == [
        *DEFAULT_ARGV,
        *("-m", "gpt-5.5", "--output-last-message", "<last-message>", "-"),
    ]
    assert invocation.stdin == "User: Say hello"
    assert invocation.env["RUST_LOG"] == "error"
    assert invocation.env["CODEX_INTERNAL_ORIGINATOR_OVERRIDE"] is None
    # the env setting is spread over the host's environment, not a replacement of it
    assert invocation.env[PROBE_VAR] == "inherited"
    assert invocation.env["PATH"] == "/usr/local/bin:/usr/bin:/bin"


def test_thread_options_become_settings(adapter: Adapter, tmp_path: Path) -> None:
    exe, log = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    (tmp_path / "wd").mkdir()
    options = {
        "model": "fake-model",
        "sandbox_mode": "read-only",
        "approval_policy": "never",
        "model_reasoning_effort": "high",
        "additional_directories": ["extra-a"],
        "working_directory": str(tmp_path / "wd"),
        "skip_git_repo_check": False,
        "web_search_enabled": True,
    }
    case = _case([_turn()], thread_options=options)
    case["codex_options"]["config"] = {"model_providers": {"fake": {"name": "Fake"}}, "features": {"x": True}}
    assert adapter.observe(case, exe, tmp_path)["error"] is None
    [invocation] = read_log(log)
    assert _tail(invocation.argv) == [
        *("-c", "approval_policy=never", "-c", "sandbox_mode=read-only"),
        *("-c", "model_reasoning_effort=high", "-c", "tools.web_search=true"),
        *("-m", "fake-model", "--add-dir", "extra-a"),
        # nested objects are flattened to dotted keys, strings are not TOML-quoted
        *("-c", "model_providers.fake.name=Fake", "-c", "features.x=true"),
        *("--output-last-message", "<last-message>", "-"),
    ]
    assert invocation.cwd == str(tmp_path / "wd")  # the spawn cwd, not `--cd`


def test_invalid_option_value_is_invalid_options(adapter: Adapter, tmp_path: Path) -> None:
    exe, log = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    case = _case([_turn()], thread_options={"sandbox_mode": "everything"})
    error = adapter.observe(case, exe, tmp_path)["error"]
    assert error["kind"] == "invalid_options" and error["class"] == "Error"
    assert error["message"].startswith("Invalid settings: sandboxMode: ")
    assert read_log(log) == []


def test_exit_code_wins_over_turn_failed(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "fail_500.jsonl", "faults": {"exit_code": 1, "stderr": "boom\n"}}])
    observation = adapter.observe(_case([_turn()]), exe, tmp_path)
    assert observation["result"] is None
    assert observation["error"] == {
        "kind": "exit",
        "class": "APICallError",
        "message": "Codex CLI exited with code 1",
        "details": {"exit_code": 1, "stderr": "boom\n"},
    }


def test_turn_failed_with_exit_zero_is_turn_failed(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "fail_500.jsonl", "faults": {"exit_code": 0}}])
    error = adapter.observe(_case([_turn()]), exe, tmp_path)["error"]
    assert (error["kind"], error["class"]) == ("turn_failed", "APICallError")
    assert error["message"].startswith("We\u2019re currently experiencing high demand")


def test_a_top_level_error_event_fails_a_completed_turn(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "retry_reconnecting_then_ok.jsonl"}])
    observation = adapter.observe(_case([_turn("STREAMBLIP")]), exe, tmp_path)
    assert observation["result"] is None
    assert observation["error"]["kind"] == "turn_failed"
    assert observation["error"]["message"].startswith("Reconnecting... 1/2")


def test_unparseable_lines_are_ignored(adapter: Adapter, tmp_path: Path) -> None:
    faults = {"malformed_line": {"after": 2, "text": "this is not json"}}
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": faults}])
    observation = adapter.observe(_case([_turn()]), exe, tmp_path)
    assert observation["error"] is None
    assert observation["result"]["final_response"] == "Hello from fake server"


def test_a_line_over_one_stdout_chunk_is_lost(adapter: Adapter, tmp_path: Path) -> None:
    """doStream splits each stdout `data` chunk on newlines without carrying a partial line over, so a 70,000-byte
    agent message (longer than one 64 KiB pipe read) fails JSON.parse in pieces and is silently dropped."""
    events = [
        {"type": "thread.started", "thread_id": THREAD_ID},
        {"type": "turn.started"},
        {"type": "turn.completed", "usage": {"input_tokens": 1, "cached_input_tokens": 0, "output_tokens": 1}},
    ]
    exe, _ = _fake(tmp_path, [{"events": events, "faults": {"big_line": {"after": 2, "bytes": 70_000}}}])
    observation = adapter.observe(_case([_turn()]), exe, tmp_path)
    assert observation["error"] is None
    assert observation["result"]["final_response"] == ""
    assert observation["result"]["items"] == []
    assert observation["result"]["thread_id"] == THREAD_ID


def test_signal_is_exit_code_null(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": {"signal": "SIGKILL"}}])
    error = adapter.observe(_case([_turn()]), exe, tmp_path)["error"]
    assert (error["kind"], error["message"]) == ("signal", "Codex CLI exited with code null")


def test_missing_binary(adapter: Adapter, tmp_path: Path) -> None:
    error = adapter.observe(_case([_turn()]), tmp_path / "no-such-codex", tmp_path)["error"]
    assert error["kind"] == "binary_missing" and error["class"] == "APICallError"
    assert error["details"]["code"] == "ENOENT"


def test_output_schema_is_generate_object(adapter: Adapter, tmp_path: Path) -> None:
    exe, log = _fake(tmp_path, [{"replay": "output_schema.jsonl"}])
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Summary",
        "type": "object",
        "properties": {"summary": {"type": "string", "format": "hostname"}, "count": {"type": "integer"}},
        "required": ["summary", "count"],
    }
    observation = adapter.observe(_case([_turn(output_schema=schema)]), exe, tmp_path)
    assert observation["error"] is None
    result = observation["result"]
    assert json.loads(result["final_response"]) == {"summary": "fake", "count": 42, "ok": True}
    assert result["items"] is None
    [invocation] = read_log(log)
    assert "--output-schema" in invocation.argv
    assert invocation.output_schema is not None
    # sanitizeJsonSchema drops $schema/title/format/...; buildArgs adds additionalProperties: false
    assert json.loads(invocation.output_schema) == {
        "type": "object",
        "properties": {"summary": {"type": "string"}, "count": {"type": "integer"}},
        "required": ["summary", "count"],
        "additionalProperties": False,
    }


def test_output_schema_violation_is_structured_output(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])  # the final text is not JSON
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    error = adapter.observe(_case([_turn(output_schema=schema)]), exe, tmp_path)["error"]
    assert (error["kind"], error["class"]) == ("structured_output", "NoObjectGeneratedError")
    assert error["details"]["text"] == "Hello from fake server"


def test_local_image_is_copied_to_a_temp_file(adapter: Adapter, tmp_path: Path) -> None:
    exe, log = _fake(tmp_path, [{"replay": "image_input.jsonl"}])
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 16
    image = tmp_path / "tiny.png"
    image.write_bytes(png)
    parts = [{"type": "text", "text": " Describe "}, {"type": "local_image", "path": str(image)}]
    observation = adapter.observe(_case([_turn(parts)]), exe, tmp_path)
    assert observation["error"] is None
    [invocation] = read_log(log)
    tail = _tail(invocation.argv)
    assert tail[-2:] == ["--", "-"]
    [record] = invocation.images
    assert record.path != str(image) and "/codex-img-" in record.path and record.path.endswith("/image.png")
    assert record.exists and record.sha256 == hashlib.sha256(png).hexdigest()
    assert invocation.stdin == "User: Describe\n[1 image attached]"


# ----------------------------------------------------------------------------------------- streamed mode


def test_streamed_records_the_ai_sdk_stream_parts(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "shell_ok.jsonl"}])
    observation = adapter.observe(_case([_turn("RUN: echo hello-from-shell; pwd", mode="streamed")]), exe, tmp_path)
    assert observation["error"] is None
    events = observation["events"]
    assert [event["type"] for event in events] == [
        "start",
        "start-step",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-end",
        "tool-call",
        "tool-result",
        "text-start",
        "text-delta",
        "text-end",
        "finish-step",
        "finish",
    ]
    call, result = events[5], events[6]
    assert (call["toolCallId"], call["toolName"], call["providerExecuted"]) == ("item_0", "exec", True)
    assert result["output"]["exitCode"] == 0 and result["providerMetadata"]["codex-cli"]["itemId"] == "item_0"
    # the session id never reaches a stream: doStream's finish part has no providerMetadata
    assert observation["result"] == {"thread_id": None, "final_response": None, "items": None, "usage": None}


def test_streamed_failure_raises_from_the_stream(adapter: Adapter, tmp_path: Path) -> None:
    exe, _ = _fake(tmp_path, [{"replay": "fail_500.jsonl", "faults": {"exit_code": 1}}])
    observation = adapter.observe(_case([_turn(mode="streamed")]), exe, tmp_path)
    # the parts before the failure; no error part: the stream itself rejects with the APICallError
    assert [event["type"] for event in observation["events"]] == ["start", "start-step"]
    assert observation["result"] is None
    assert (observation["error"]["kind"], observation["error"]["message"]) == ("exit", "Codex CLI exited with code 1")


def test_abort_is_reported_as_a_signal(adapter: Adapter, tmp_path: Path) -> None:
    """The abort signal only makes doStream SIGTERM the child; the call then fails like any killed codex."""
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": {"hang_after_line": 2}}])
    turn = {**_turn(mode="streamed"), "abort_after_ms": 200}
    observation = adapter.observe(_case([turn]), exe, tmp_path)
    assert [event["type"] for event in observation["events"]] == ["start", "start-step"]
    assert observation["error"]["kind"] == "signal"
    assert observation["error"]["message"] == "Codex CLI exited with code null"


# ------------------------------------------------------------------------------------------------- skips


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"turns": [_turn(), _turn()]}, "the exec provider has no threads"),
        ({"resume_thread_id": THREAD_ID}, "the exec provider has no threads"),
        ({"codex_options": {"env": {}, "config_overrides": ["a=1"]}}, "codex_options.config_overrides: "),
        ({"codex_options": {"env": {}, "base_url": "http://127.0.0.1:9/v1"}}, "codex_options.base_url: "),
        ({"codex_options": {"env": {}, "api_key": "sk-test"}}, "codex_options.api_key: "),
        ({"thread_options": {"web_search_mode": "live"}}, "thread_options.web_search_mode: "),
        ({"thread_options": {"network_access_enabled": True}}, "thread_options.network_access_enabled: "),
        ({"turns": [_turn(idle_timeout=0.5)]}, "turn_options.idle_timeout: "),
        ({"turns": [_turn([{"type": "local_image", "path": "no-such.png"}])]}, 'local_image "no-such.png": '),
    ],
)
def test_cases_it_cannot_express_are_skipped(
    adapter: Adapter, tmp_path: Path, change: dict[str, Any], reason: str
) -> None:
    exe, log = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    reply = adapter.run({**_case([_turn()]), **change}, exe, tmp_path)
    assert reply["skipped"]["reason"].startswith(f"ai-sdk-provider-codex-cli: {reason}")
    assert read_log(log) == []
