"""The reference SDK behind the protocol, end to end against the fake codex.

Two claims: (1) ``python -m harness.adapters.reference_adapter`` speaks the protocol over stdio on real
fixtures, in both modes, and leaves no process behind; (2) the protocol loses nothing -- for every scenario in
the corpus, the observation that comes back through the adapter equals the one the scenario runner gets by
calling the SDK directly.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from harness.adapters import (
    AdapterClient,
    Observed,
    in_process_connection,
    portable_case,
    subprocess_connection,
)
from harness.adapters.protocol import APPSERVER_CAPABILITIES, CAPABILITIES, non_portable_reason, schema_errors
from harness.adapters.reference_adapter import handler
from harness.errors import AdapterError
from harness.fake import Plan, build_fake, read_log
from harness.fake.testing import wait_no_leftovers
from harness.scenario import Scenario, load_all, run_scenario
from harness.scenario.runner import BASE_PATH
from harness.scenario.transports.exec import STORE_DIR, case_input, stage_inputs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "real" / "0.169.0"


def arun(coro: Any) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


def hermetic_env(workdir: Path) -> dict[str, str]:
    """The environment the scenario runner gives codex, rebuilt for an adapter's workdir."""
    for name in ("home", "codex-home", "tmp", "fake"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    return {
        "PATH": BASE_PATH,
        "HOME": str(workdir / "home"),
        "CODEX_HOME": str(workdir / "codex-home"),
        "LANG": "C.UTF-8",
        "TMPDIR": str(workdir / "tmp"),
    }


def fake_for(steps: list[dict[str, Any]], workdir: Path) -> tuple[Path, Path]:
    log = workdir / "invocations.jsonl"
    plan = Plan.from_mapping({"steps": steps}, base_dir=ROOT)
    return build_fake(plan, workdir / "fake", log_path=log), log


def case(turns: list[dict[str, Any]], env: dict[str, str]) -> dict[str, Any]:
    return {
        "id": "adhoc",
        "turns": turns,
        "codex_options": {"env": env, "api_key": "sk-test"},
        "thread_options": {"skip_git_repo_check": True},
        "resume_thread_id": None,
    }


# ------------------------------------------------------------------------------------------ over stdio


def test_stdio_reference_adapter_run_streamed_and_resume(tmp_path: Path) -> None:
    marker = f"refadapter-{uuid.uuid4().hex}"
    argv = [sys.executable, "-m", "harness.adapters.reference_adapter", marker]
    env = hermetic_env(tmp_path)
    fake, log = fake_for(
        [
            {"replay": "fixtures/real/0.169.0/resume_turn1.jsonl"},
            {"replay": "fixtures/real/0.169.0/resume_turn2.jsonl"},
            {"replay": "fixtures/real/0.169.0/agent_message.jsonl"},
        ],
        tmp_path,
    )
    two_turns = case(
        [
            {"input": "first turn", "mode": "run", "turn_options": {}},
            {"input": "second turn", "mode": "streamed", "turn_options": {}, "thread": "resume"},
        ],
        env,
    )
    one_turn = case([{"input": "Say hello", "mode": "run", "turn_options": {}}], env)

    async def main() -> tuple[Any, Any, AdapterClient]:
        connect = functools.partial(subprocess_connection, argv)
        async with AdapterClient(connect, name="reference", read_timeout=30) as client:
            assert client.implementation.sdk == "harness.reference"
            assert client.implementation.capabilities == (*CAPABILITIES, *APPSERVER_CAPABILITIES)
            first = await client.run(two_turns, codex_path=fake, workdir=tmp_path)
            second = await client.run(one_turn, codex_path=fake, workdir=tmp_path)
        return first, second, client

    first, second, client = arun(main())
    assert client.stop_problem is None and client.restarts == 0
    assert isinstance(first, Observed) and isinstance(second, Observed), (first, second)
    assert schema_errors("observation", first.observation) == []
    assert first.adapter_stderr == "" and second.adapter_stderr == ""

    earlier = first.observation["earlier_turns"]
    assert [t["mode"] for t in earlier] == ["run"]
    thread_id = earlier[0]["result"]["thread_id"]
    assert thread_id and first.observation["result"]["thread_id"] == thread_id
    events = [json.loads(e) for e in first.observation["events"]]
    assert events[0]["type"] == "thread.started" and events[-1]["type"] == "turn.completed"
    assert first.observation["error"] is None

    assert second.observation["result"]["final_response"] == "Hello from fake server"
    assert second.observation["events"] == []

    invocations = read_log(log)
    assert [inv.stdin for inv in invocations] == ["first turn", "second turn", "Say hello"]
    assert "resume" in invocations[1].argv and thread_id in invocations[1].argv
    assert invocations[0].env["CODEX_API_KEY"] == "sk-test"
    assert invocations[0].env["CODEX_HOME"] == env["CODEX_HOME"]
    assert wait_no_leftovers(marker) == []
    assert wait_no_leftovers(fake) == []


def test_stdio_reference_adapter_sdk_failures_are_observations(tmp_path: Path) -> None:
    env = hermetic_env(tmp_path)
    fake, _ = fake_for(
        [
            {"replay": "fixtures/real/0.169.0/fail_500.jsonl"},
            {"lines": ['{"type":"thread.started","thread_id":"t1"}', "not json"]},
        ],
        tmp_path,
    )
    argv = [sys.executable, "-m", "harness.adapters.reference_adapter"]
    bad_options = case([{"input": "x", "mode": "run", "turn_options": {"idle_timeout": -1}}], env)

    async def main() -> list[Any]:
        async with AdapterClient(functools.partial(subprocess_connection, argv), read_timeout=30) as client:
            plain = case([{"input": "x", "mode": "run", "turn_options": {}}], env)
            return [
                await client.run(plain, codex_path=codex, workdir=tmp_path)
                for codex in (fake, fake, tmp_path / "no-such-codex")
            ] + [await client.run(bad_options, codex_path=fake, workdir=tmp_path)]

    results = arun(main())
    assert all(isinstance(r, Observed) for r in results), results
    kinds = [r.observation["error"]["kind"] for r in results]
    assert kinds == ["turn_failed", "parse", "binary_missing", "invalid_options"]
    assert results[0].observation["error"]["class"] == "TurnFailedError"


def test_local_image_input_and_output_schema(tmp_path: Path) -> None:
    env = hermetic_env(tmp_path)
    fake, log = fake_for([{"replay": "fixtures/real/0.169.0/image_input.jsonl"}], tmp_path)
    image = tmp_path / "tiny.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    the_case = case(
        [
            {
                "input": [{"type": "text", "text": "Describe"}, {"type": "local_image", "path": str(image)}],
                "mode": "run",
                "turn_options": {"output_schema": {"type": "object"}},
            }
        ],
        env,
    )

    async def main() -> Any:
        async with AdapterClient(functools.partial(in_process_connection, handler())) as client:
            return await client.run(the_case, codex_path=fake, workdir=tmp_path)

    result = arun(main())
    assert isinstance(result, Observed)
    [invocation] = read_log(log)
    assert invocation.stdin == "Describe"
    assert ["--image", str(image)] == list(invocation.argv[invocation.argv.index("--image") :][:2])
    assert invocation.output_schema is not None and json.loads(invocation.output_schema)["type"] == "object"


# ------------------------------------------------------------------------------------------ parity


def test_non_portable_scenarios_are_refused() -> None:
    auto = [s for s in _scenarios() if non_portable_reason(s) is not None]
    for scenario in auto:
        assert "only the reference SDK has" in str(non_portable_reason(scenario))
        with pytest.raises(AdapterError, match="is not portable"):
            portable_case(scenario)


def _scenarios() -> list[Scenario]:
    return load_all(ROOT / "scenarios")


def _param(scenario: Scenario) -> Any:
    slow = "ignore_sigterm" in scenario.id
    return pytest.param(scenario, id=scenario.id, marks=[pytest.mark.slow] if slow else [])


#: The observation keys every SDK reports. The runner adds reference-only extras to a run result
#: (``turn_usage``, ``cumulative_usage``, ``structured_output``) and records telemetry and logs; the protocol
#: carries the portable part.
PORTABLE_RESULT = ("thread_id", "final_response", "items", "usage")


def _portable(record: dict[str, Any]) -> dict[str, Any]:
    result = record["result"]
    return {
        "events": record["events"],
        "result": None if result is None else {key: result[key] for key in PORTABLE_RESULT},
        "error": record["error"],
    }


def _exec(scenario: Scenario) -> bool:
    return str(scenario.transport) == "exec"


@pytest.mark.parametrize(
    "scenario", [_param(s) for s in _scenarios() if non_portable_reason(s) is None and _exec(s)]
)
def test_reference_adapter_agrees_with_the_runner(scenario: Scenario, tmp_path: Path) -> None:
    direct = run_scenario(scenario, workdir=tmp_path / "direct")
    workdir = tmp_path / "adapter"
    env = {**hermetic_env(workdir), **dict(scenario.codex_options.get("env", {}))}
    plan = Plan.from_mapping(dict(scenario.plan), base_dir=scenario.project_root, source=scenario.path)
    fake = build_fake(plan, workdir / "fake", log_path=workdir / "invocations.jsonl")
    case = portable_case(scenario, env=env)
    staged = stage_inputs(scenario, workdir / STORE_DIR)  # as ExecTransport.case: staged parts by their store path
    for index, (entry, turn) in enumerate(zip(case["turns"], scenario.turns, strict=True)):
        entry["input"] = case_input(turn, index, staged)

    async def main() -> Any:
        async with AdapterClient(functools.partial(in_process_connection, handler()), read_timeout=60) as client:
            return await client.run(case, codex_path=fake, workdir=workdir)

    result = arun(main())
    assert isinstance(result, Observed), result
    assert schema_errors("observation", result.observation) == []
    assert _portable(result.observation) == _portable(direct)
    assert [_portable(t) for t in result.observation["earlier_turns"]] == [
        _portable(t) for t in direct["earlier_turns"]
    ]
    through_adapter = [
        (_schema_path_free(i.argv, workdir), i.stdin, i.output_schema)
        for i in read_log(workdir / "invocations.jsonl")
    ]
    assert through_adapter == [
        (_schema_path_free(i["argv"], tmp_path / "direct"), i["stdin"], i["output_schema"])
        for i in direct["invocations"]
    ]


def _schema_path_free(argv: Any, workdir: Path | None = None) -> list[str]:
    """argv with the ``--output-schema`` temp file path blanked (a fresh temp dir per run), and the run's file
    store (staged attachments, inside its workdir) as ``<store>``."""
    out = list(argv)
    for index, word in enumerate(out[:-1]):
        if word == "--output-schema":
            out[index + 1] = "<schema file>"
    if workdir is not None:
        out = [word.replace(str(workdir / STORE_DIR), "<store>") for word in out]
    return out


@pytest.mark.parametrize("scenario", [_param(s) for s in _scenarios() if not _exec(s)])
def test_reference_adapter_agrees_with_the_runner_over_the_app_server(scenario: Scenario, tmp_path: Path) -> None:
    """The app-server case carries everything the runner uses: both observations agree on every portable part
    once each is normalized against its own workdir (the fake's side included)."""
    from harness.parity.compare import compare_parts
    from harness.parity.matrix import normalize_adapter_observation
    from harness.scenario import run_and_normalize, transport_for

    direct = run_and_normalize(scenario, workdir=tmp_path / "direct")
    transport = transport_for(scenario)
    workdir = tmp_path / "adapter"
    prepared = transport.prepare(scenario, workdir)

    async def main() -> Any:
        async with AdapterClient(functools.partial(in_process_connection, handler()), read_timeout=60) as client:
            return await client.run(transport.case(scenario, prepared), codex_path=prepared.fake, workdir=workdir)

    result = arun(main())
    assert isinstance(result, Observed), result
    assert schema_errors("observation", result.observation) == []
    observed = normalize_adapter_observation(scenario, prepared, workdir, result.observation)
    comparison = compare_parts(direct, observed, transport.parts, portable=True)
    assert comparison.agrees, comparison.unified_diff
