"""The peer SDK adapters (TS ``@openai/codex-sdk``, ``openai-agents``, ``codex-sdk-python``,
``openai-codex-sdk``), driven by hand over the adapter protocol against the fake codex replaying real
transcripts. Each peer is skipped unless installed (``python -m harness.adapters.install <key>``).

Besides the common path (final response, thread id, events), the tests pin the *known divergences* the
harness exists to report: openai-agents raises on a top-level ``error`` event in ``run()``; codex-sdk-python
rejects unknown item types; the two asyncio SDKs with the default ``StreamReader`` limit fail on a line over
64 KiB; openai-codex-sdk puts ``--image`` before ``resume`` (visible in the fake's argv).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from harness.adapters.install import PEERS, InstalledAdapter, find_installed, install_command
from harness.fake import Plan, build_fake, read_log

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures" / "real" / "0.169.0"
THREAD_ID = "01a20a0f-55e7-7642-b4ea-1176ee084595"  # agent_message.jsonl
RESUME_ID = "01a20a0f-7f32-7153-9316-03a054c59a36"  # resume_turn1/2.jsonl
HIGH_DEMAND = "We\u2019re currently experiencing high demand, which may cause temporary errors."
REPLY_TIMEOUT = 60.0

try:  # the wire schemas (harness.adapters.protocol) validate what the adapters send, when available
    from harness.adapters.protocol import schema_errors
except ImportError:  # pragma: no cover - protocol module not present
    schema_errors = None  # type: ignore[assignment]


class AdapterProcess:
    """One adapter process driven over stdin/stdout, its stderr collected in a file."""

    def __init__(self, installed: InstalledAdapter, stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        self._stderr = stderr_path.open("wb")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_FAKE_")}
        self.proc = subprocess.Popen(
            list(installed.command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self.seq = 0

    def request(self, message: Mapping[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], REPLY_TIMEOUT)
        if not ready:
            raise AssertionError(f"no reply within {REPLY_TIMEOUT}s; stderr: {self.stderr_path.read_text()[-2000:]}")
        line = self.proc.stdout.readline()
        assert line, f"adapter closed stdout; stderr: {self.stderr_path.read_text()[-2000:]}"
        reply: dict[str, Any] = json.loads(line)
        return reply

    def run(self, case: Mapping[str, Any], codex_path: Path, workdir: Path) -> dict[str, Any]:
        self.seq += 1
        reply = self.request(
            {"cmd": "run", "seq": self.seq, "case": case, "codex_path": str(codex_path), "workdir": str(workdir)}
        )
        assert reply.get("seq") == self.seq, reply
        if schema_errors is not None:
            assert schema_errors("run-reply", reply) == []
        assert "errored" not in reply, reply["errored"]
        return reply

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


# The TS-shaped peers; ai-sdk-codex (a provider, not an SDK: other calls, other results) has its own tests in
# tests/test_ai_sdk_adapter.py.
@pytest.fixture(scope="module", params=[key for key in PEERS if key != "ai-sdk-codex"])
def peer(request: pytest.FixtureRequest) -> Iterator[tuple[str, AdapterProcess, dict[str, Any]]]:
    key: str = request.param
    installed = find_installed(key)
    if installed is None:
        pytest.skip(f"peer adapter {key!r} is not installed; run `{install_command(key)}`")
    with tempfile.TemporaryDirectory(prefix=f"peer-{key.replace('/', '_')}-") as tmp:
        adapter = AdapterProcess(installed, Path(tmp) / "adapter.stderr")
        try:
            start = adapter.request({"cmd": "start", "version": 1})
            if schema_errors is not None:
                assert schema_errors("start-reply", start) == []
            yield key, adapter, start["implementation"]
        finally:
            code = adapter.stop()
        assert code == 0


def _fake(tmp_path: Path, steps: list[dict[str, Any]]) -> tuple[Path, Path]:
    log = tmp_path / "codex.log.jsonl"
    exe = build_fake(Plan.from_mapping({"steps": steps}, base_dir=FIXTURES), tmp_path / "fake", log_path=log)
    return exe, log


def _case(turns: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": "peer/test",
        "turns": turns,
        "codex_options": {"env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}},
        "thread_options": {},
        "resume_thread_id": None,
    }
    case.update(extra)
    return case


def _turn(input: Any = "Say hello", mode: str = "run", **turn_options: Any) -> dict[str, Any]:
    return {"input": input, "mode": mode, "turn_options": turn_options}


def test_start_reports_the_pinned_sdk(peer: tuple[str, AdapterProcess, dict[str, Any]]) -> None:
    key, _, implementation = peer
    assert implementation["version"] == PEERS[key].version
    assert implementation["language"] == PEERS[key].language
    assert implementation["name"] == PEERS[key].name
    assert {"run", "streamed", "resume", "local_image", "output_schema"} <= set(implementation["capabilities"])
    assert ("idle_timeout" in implementation["capabilities"]) == (key == "openai-agents")


def test_run_returns_final_response_and_thread_id(
    peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path
) -> None:
    key, adapter, _ = peer
    exe, log = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    observation = adapter.run(_case([_turn()]), exe, tmp_path)["observation"]
    assert observation["error"] is None
    assert observation["events"] == [] and observation["earlier_turns"] == []
    result = observation["result"]
    assert result["thread_id"] == THREAD_ID
    assert result["final_response"] == "Hello from fake server"
    assert [item["type"] for item in result["items"]] == ["agent_message"]
    assert result["usage"]["input_tokens"] == 10 and result["usage"]["output_tokens"] == 5
    [invocation] = read_log(log)
    assert invocation.argv[:2] == ("exec", "--experimental-json")
    assert invocation.stdin == "Say hello"
    # Only openai-agents passes "-" (read the prompt from stdin) explicitly.
    assert (invocation.argv[-1] == "-") == (key == "openai-agents")


def test_streamed_records_every_event(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    _, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    observation = adapter.run(_case([_turn(mode="streamed")]), exe, tmp_path)["observation"]
    assert observation["error"] is None
    events = observation["events"]
    assert [event["type"] for event in events] == ["thread.started", "turn.started", "item.completed", "turn.completed"]
    assert events[0]["thread_id"] == THREAD_ID
    assert events[2]["item"]["text"] == "Hello from fake server"
    assert observation["result"] == {"thread_id": THREAD_ID, "final_response": None, "items": None, "usage": None}


#: A failed turn (error event, then turn.failed, exit 1) in run(): openai-agents raises on the `error` event
#: before it reaches turn.failed -- the known deviation from TS.
FAILED_TURN = {
    "ts": ("turn_failed", "Error", HIGH_DEMAND),
    "openai-agents": ("stream_error", "RuntimeError", f"Codex stream error: {HIGH_DEMAND}"),
    "codex-sdk-python": ("turn_failed", "TurnFailedError", HIGH_DEMAND),
    "openai-codex-sdk": ("turn_failed", "ThreadRunError", HIGH_DEMAND),
}


def test_failed_turn_in_run(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "fail_500.jsonl", "faults": {"exit_code": 1}}])
    observation = adapter.run(_case([_turn()]), exe, tmp_path)["observation"]
    assert observation["result"] is None
    kind, cls, message = FAILED_TURN[key]
    assert observation["error"] == {"kind": kind, "class": cls, "message": message}


def test_failed_turn_in_streamed_yields_events_then_exit_error(
    peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path
) -> None:
    _, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "fail_500.jsonl", "faults": {"exit_code": 1, "stderr": "boom\n"}}])
    observation = adapter.run(_case([_turn(mode="streamed")]), exe, tmp_path)["observation"]
    assert [event["type"] for event in observation["events"]] == [
        "thread.started",
        "turn.started",
        "error",
        "turn.failed",
    ]
    assert observation["error"]["kind"] == "exit"
    assert observation["error"]["message"].endswith("exited with code 1: boom\n")


EXIT_MESSAGES = {
    "ts": ("Error", "Codex Exec exited with code 2: fake codex: simulated crash\n"),
    "openai-agents": ("RuntimeError", "Codex exec exited with code 2: fake codex: simulated crash\n"),
    "codex-sdk-python": ("CodexCLIError", "Codex CLI exited with code 2: fake codex: simulated crash\n"),
    "openai-codex-sdk": ("CodexExecError", "Codex Exec exited with code 2: fake codex: simulated crash\n"),
}


def test_crash_is_an_exit_error(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    faults = {"exit_code": 2, "stderr": "fake codex: simulated crash\n"}
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": faults}])
    observation = adapter.run(_case([_turn()]), exe, tmp_path)["observation"]
    cls, message = EXIT_MESSAGES[key]
    assert observation["error"] == {"kind": "exit", "class": cls, "message": message}


def test_malformed_line_is_a_parse_error(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    _, adapter, _ = peer
    faults = {"malformed_line": {"after": 2, "text": "this is not json"}}
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": faults}])
    error = adapter.run(_case([_turn()]), exe, tmp_path)["observation"]["error"]
    assert error["kind"] == "parse"
    assert "this is not json" in error["message"]


def test_unknown_item_type(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": {"unknown_item": {"after": 2}}}])
    observation = adapter.run(_case([_turn()]), exe, tmp_path)["observation"]
    if key == "codex-sdk-python":  # the one SDK here that raises on an unknown item type
        assert observation["error"] == {
            "kind": "parse",
            "class": "CodexParseError",
            "message": "Unknown item type: brand_new_item",
        }
        return
    assert observation["error"] is None
    items = observation["result"]["items"]
    assert [item["type"] for item in items] == ["brand_new_item", "agent_message"]
    assert observation["result"]["final_response"] == "Hello from fake server"
    if key == "openai-agents":  # _UnknownThreadItem(type, payload): the raw item is kept under "payload"
        assert items[0]["payload"]["note"] == "injected by harness-fake-codex"
    else:
        assert items[0]["note"] == "injected by harness-fake-codex"


def test_line_over_64_kib(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": {"big_line": {"after": 2, "bytes": 70_000}}}])
    observation = adapter.run(_case([_turn()]), exe, tmp_path)["observation"]
    if key in ("codex-sdk-python", "openai-codex-sdk"):  # asyncio's default 64 KiB StreamReader limit
        assert observation["error"]["kind"] == "line_too_long"
        assert observation["error"]["class"] == "ValueError"
        return
    assert observation["error"] is None
    assert [item["id"] for item in observation["result"]["items"]] == ["item_big", "item_0"]


#: argv of the resumed turn with an image, after "exec --experimental-json".
RESUME_ARGV = {
    "ts": ["resume", RESUME_ID, "--image", "/img/a.png"],
    "openai-agents": ["resume", "--image", "/img/a.png", "--", RESUME_ID, "-"],
    "codex-sdk-python": ["resume", RESUME_ID, "--image", "/img/a.png"],
    # the known bug: the greedy --image swallows `resume <id>` (a real CLI starts a new thread)
    "openai-codex-sdk": ["--image", "/img/a.png", "resume", RESUME_ID],
}


def test_second_turn_resumes_the_thread(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, log = _fake(tmp_path, [{"replay": "resume_turn1.jsonl"}, {"replay": "resume_turn2.jsonl"}])
    second = [{"type": "text", "text": "again"}, {"type": "local_image", "path": "/img/a.png"}]
    observation = adapter.run(_case([_turn("first", mode="streamed"), _turn(second)]), exe, tmp_path)["observation"]
    assert observation["error"] is None
    [first] = observation["earlier_turns"]
    assert first["mode"] == "streamed" and first["error"] is None
    assert first["result"]["thread_id"] == RESUME_ID
    assert observation["result"]["thread_id"] == RESUME_ID
    assert observation["result"]["usage"]["input_tokens"] == 20
    one, two = read_log(log)
    assert list(one.argv[2:]) == ([] if key != "openai-agents" else ["-"])
    assert list(two.argv[2:]) == RESUME_ARGV[key]
    assert two.stdin == "again"


def test_resume_thread_id_and_thread_resume_turn(
    peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path
) -> None:
    _, adapter, _ = peer
    exe, log = _fake(tmp_path, [{"replay": "resume_turn2.jsonl"}, {"replay": "resume_turn2.jsonl"}])
    turns = [_turn("one"), {**_turn("two"), "thread": "resume"}]
    observation = adapter.run(_case(turns, resume_thread_id=RESUME_ID), exe, tmp_path)["observation"]
    assert observation["error"] is None
    assert [inv.argv.count("resume") for inv in read_log(log)] == [1, 1]
    assert all(RESUME_ID in inv.argv for inv in read_log(log))


def test_abort_after_ms(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": {"hang_after_line": 2}}])
    turn = {**_turn(mode="streamed"), "abort_after_ms": 200}
    observation = adapter.run(_case([turn]), exe, tmp_path)["observation"]
    assert [event["type"] for event in observation["events"]] == ["thread.started", "turn.started"]
    if key == "openai-agents":  # the port's signal just terminates the child: reported as an exit by SIGTERM
        assert observation["error"] == {
            "kind": "signal",
            "class": "RuntimeError",
            "message": "Codex exec exited with code -15: ",
        }
    else:
        assert observation["error"]["kind"] == "abort"


def test_unsupported_options_are_skipped(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, log = _fake(tmp_path, [{"replay": "agent_message.jsonl"}])
    case = _case([_turn()])
    case["codex_options"]["config_overrides"] = ['model_reasoning_summary="concise"']
    reply = adapter.run(case, exe, tmp_path)
    if key == "ts":
        assert reply["observation"]["error"] is None
        assert read_log(log)[0].argv[2:4] == ("--config", 'model_reasoning_summary="concise"')
    else:
        assert reply["skipped"]["reason"].startswith(f"{key}: ")
        assert read_log(log) == []


def test_idle_timeout_only_where_supported(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    key, adapter, _ = peer
    exe, _ = _fake(tmp_path, [{"replay": "agent_message.jsonl", "faults": {"hang_after_line": 2}}])
    reply = adapter.run(_case([_turn(idle_timeout=0.3)]), exe, tmp_path)
    if key == "openai-agents":
        assert reply["observation"]["error"] == {
            "kind": "idle_timeout",
            "class": "RuntimeError",
            "message": "Codex stream idle for 0.3 seconds.",
        }
    else:
        assert "idle timeout" in reply["skipped"]["reason"]


def test_output_schema_file_reaches_codex(peer: tuple[str, AdapterProcess, dict[str, Any]], tmp_path: Path) -> None:
    _, adapter, _ = peer
    exe, log = _fake(tmp_path, [{"replay": "output_schema.jsonl"}])
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    observation = adapter.run(_case([_turn(output_schema=schema)]), exe, tmp_path)["observation"]
    assert observation["error"] is None
    [invocation] = read_log(log)
    assert "--output-schema" in invocation.argv
    assert invocation.output_schema is not None and json.loads(invocation.output_schema) == schema
