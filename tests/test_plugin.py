"""The pytest plugin end to end (pytester): collection, node ids, markers, goldens, failures, unused goldens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

EVENTS = """plan:
  steps:
    - events:
        - {type: thread.started, thread_id: 0199a000-0000-7000-8000-0000000000c1}
        - {type: turn.started}
        - {type: item.completed, item: {id: item_0, type: agent_message, text: hello there}}
        - {type: turn.completed, usage: {input_tokens: 3, cached_input_tokens: 0, output_tokens: 2}}
"""

HELLO = "title: run() says hello\n" + EVENTS + "input: hi\nexpect:\n  result.final_response: hello there\n"
STREAM = "title: streamed hello\ntags: [fast, streaming]\n" + EVENTS + "input: hi\nmode: streamed\n"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "scenarios" / "basic").mkdir(parents=True)
    (pytester.path / "scenarios" / "basic" / "hello.yaml").write_text(HELLO)
    (pytester.path / "scenarios" / "basic" / "stream.yaml").write_text(STREAM)
    return pytester


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:benchmark", *args)


def test_node_ids_are_path_and_id(project: pytest.Pytester) -> None:
    (project.path / "data").mkdir()
    (project.path / "data" / "other.yaml").write_text("not: a scenario\n")
    result = _run(project, "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["scenarios/basic/hello.yaml::basic/hello", "scenarios/basic/stream.yaml::basic/stream", "2 tests collected*"]
    )


def test_missing_golden_then_update_then_pass(project: pytest.Pytester) -> None:
    result = _run(project)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["*no golden at golden/basic/hello.json; record it with: pytest hello.yaml --snapshot-update*"]
    )

    result = _run(project, "--snapshot-update")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*codex harness goldens*", "2 golden(s) written: golden/basic/hello.json, golden/basic/stream.json"]
    )
    golden = project.path / "golden" / "basic" / "hello.json"
    text = golden.read_text(encoding="utf-8")
    assert text.endswith("}\n") and '"final_response": "hello there"' in text and "<thread:1>" in text

    result = _run(project)
    result.assert_outcomes(passed=2)
    assert result.ret == 0
    assert golden.read_text(encoding="utf-8") == text


def test_divergence_is_readable(project: pytest.Pytester) -> None:
    _run(project, "--snapshot-update").assert_outcomes(passed=2)
    golden = project.path / "golden" / "basic" / "hello.json"
    golden.write_text(golden.read_text().replace('"final_response": "hello there"', '"final_response": "bye"'))
    (project.path / "scenarios" / "basic" / "stream.yaml").write_text(
        STREAM + "expect:\n  events.count: 3\n  error: null\n"
    )
    result = _run(project)
    result.assert_outcomes(failed=2, passed=0)
    result.stdout.fnmatch_lines(
        [
            "*scenario: basic/hello*",
            "scenario basic/hello: run() says hello",
            "observation diverges from the golden golden/basic/hello.json",
            "summary:",
            "  Value of root?'result'??'final_response'? changed from \"bye\" to \"hello there\".",
            "diff (golden -> observed):",
            "--- golden golden/basic/hello.json",
            "+++ observed",
            '-      "final_response": "bye",',
            '+      "final_response": "hello there",',
        ]
    )
    result.stdout.fnmatch_lines(
        ["failed expectations (1):", "  *stream.yaml:*:3: expect events.count: expected 3, got 4"]
    )
    assert "Traceback" not in result.stdout.str()


def test_expectations_fail_even_when_updating(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "basic" / "hello.yaml").write_text(
        HELLO.replace("hello there\n", "something else\n", 1).replace("text: something else", "text: hello there")
    )
    result = _run(project, "--snapshot-update")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(['*expect result.final_response: expected "something else", got "hello there"'])


def test_malformed_scenario_is_a_collection_error(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "bad").mkdir()
    (project.path / "scenarios" / "bad" / "typo.yaml").write_text("title: t\n" + EVENTS + "input: hi\nmdoe: run\n")
    result = _run(project)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*scenarios/bad/typo.yaml:10:1: mdoe: unknown key 'mdoe' (allowed: *"])
    assert "Traceback" not in result.stdout.str()


def test_tags_are_markers_under_strict_markers(project: pytest.Pytester) -> None:
    _run(project, "--snapshot-update").assert_outcomes(passed=2)
    result = _run(project, "--strict-markers", "-m", "fast")
    result.assert_outcomes(passed=1, deselected=1)
    result = _run(project, "--strict-markers", "-k", "hello")
    result.assert_outcomes(passed=1, deselected=1)
    result = _run(project, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.scenario: *"])


def test_unused_golden_fails_then_is_deleted_on_update(project: pytest.Pytester) -> None:
    _run(project, "--snapshot-update").assert_outcomes(passed=2)
    orphan = project.path / "golden" / "gone" / "away.json"
    orphan.parent.mkdir()
    orphan.write_text("{}\n")

    result = _run(project)
    result.assert_outcomes(passed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["1 unused golden(s) (no scenario file); run with --snapshot-update to delete:", "  golden/gone/away.json"]
    )

    result = _run(project, "--snapshot-update")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["1 golden(s) deleted unused: golden/gone/away.json"])
    assert not orphan.exists()
    assert (project.path / "golden" / "basic" / "hello.json").exists()


def test_selection_does_not_make_other_goldens_unused(project: pytest.Pytester) -> None:
    _run(project, "--snapshot-update").assert_outcomes(passed=2)
    result = _run(project, "--snapshot-update", "scenarios/basic/hello.yaml")
    assert result.ret == 0
    assert (project.path / "golden" / "basic" / "stream.json").exists()


def test_unused_goldens_under_xdist(project: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    _run(project, "--snapshot-update").assert_outcomes(passed=2)
    orphan = project.path / "golden" / "basic" / "old.json"
    orphan.write_text("{}\n")
    args = ("-n", "2", "-W", "ignore:Benchmarks are automatically disabled")
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", *args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*2 passed*"])
    result.stdout.fnmatch_lines(["  golden/basic/old.json"])
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:benchmark", "--snapshot-update", *args)
    assert result.ret == 0
    assert not orphan.exists()


def test_plugin_ignores_yaml_outside_scenarios(pytester: pytest.Pytester) -> None:
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "x.yaml").write_text("a: [\n")
    pytester.makepyfile(test_ok="def test_ok():\n    pass\n")
    result = _run(pytester)
    result.assert_outcomes(passed=1)
    assert Path(pytester.path / "golden").exists() is False


AUTO = """title: auto-run retries a retryable failure, then answers a tool call
tags: [auto]
plan:
  steps:
    - events:
        - {type: thread.started, thread_id: 0199a000-0000-7000-8000-0000000000d1}
        - {type: turn.started}
        - {type: turn.failed, error: {message: "stream disconnected before completion: blip"}}
      faults: {exit_code: 1}
    - resume: 0199a000-0000-7000-8000-0000000000d1
      events:
        - {type: thread.started, thread_id: 0199a000-0000-7000-8000-0000000000d1}
        - {type: turn.started}
        - {type: tool.call.required, call_id: c1, name: add, arguments: {a: 1, b: 2}}
        - {type: turn.completed, usage: {input_tokens: 3, cached_input_tokens: 0, output_tokens: 2}}
    - resume: 0199a000-0000-7000-8000-0000000000d1
      events:
        - {type: thread.started, thread_id: 0199a000-0000-7000-8000-0000000000d1}
        - {type: turn.started}
        - {type: item.completed, item: {id: item_0, type: agent_message, text: "3"}}
        - {type: turn.completed, usage: {input_tokens: 5, cached_input_tokens: 0, output_tokens: 3}}
input: add 1 and 2
mode: auto
auto:
  policy: {max_attempts: 2, backoff: {initial: 0.25}}
  tool_results: {add: 3}
expect:
  result.final_response: "3"
  result.sleeps: [0.25]
  result.attempts.*.outcome: [failed, completed, completed]
  result.tool_calls.0.output: 3
  telemetry.0.correlation_id: "<cid:1>"
  logs.0.logger: harness.reference
"""


def test_auto_mode_golden_records_telemetry_and_logs(project: pytest.Pytester) -> None:
    (project.path / "scenarios" / "basic" / "auto.yaml").write_text(AUTO)
    _run(project, "--snapshot-update", "scenarios/basic/auto.yaml").assert_outcomes(passed=1)
    golden = json.loads((project.path / "golden" / "basic" / "auto.json").read_text(encoding="utf-8"))
    assert golden["meta"]["modes"] == ["auto"]
    observation = golden["observation"]
    names = [t["name"] for t in observation["telemetry"]]
    assert names.count("codex.turn.exception") == 1 and names.count("codex.turn.stop") == 2
    assert [entry["message"] for entry in observation["logs"]] == names
    assert {t["correlation_id"] for t in observation["telemetry"]} == {"<cid:1>"}
    assert all(t["measurements"].get("duration_ms", "<duration>") == "<duration>" for t in observation["telemetry"])
    assert "timestamp" not in json.dumps(observation["telemetry"])
    _run(project, "scenarios/basic/auto.yaml").assert_outcomes(passed=1)
