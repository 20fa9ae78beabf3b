"""The scenario validator: every malformed file yields one exact ``file:line:column: field: message``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from harness.errors import ScenarioError
from harness.scenario import load_all, load_scenario, schema, validate_paths
from harness.scenario.model import AutoSpec, Mode, ThreadMode

REPO = Path(__file__).resolve().parents[1]
OK_PLAN = "plan:\n  steps:\n    - replay: fixtures/ok.jsonl\n"

#: name -> (file text, expected message after "<path>:")
CASES: dict[str, tuple[str, str]] = {
    "unknown_top_key": (
        "title: t\n" + OK_PLAN + "input: hi\nmdoe: run\n",
        "6:1: mdoe: unknown key 'mdoe' (allowed: abort_after_ms, approvals, attachments, auto, close_client, "
        "description, expect, input, interrupt, mode, options, output_schema, plan, tags, timeout, title, tools, "
        "transport, turns, walk_away)",
    ),
    "missing_title": (OK_PLAN + "input: hi\n", "1:1: missing required key 'title'"),
    "missing_plan": ("title: t\ninput: hi\n", "1:1: missing required key 'plan'"),
    "wrong_type_title": ("title: 42\n" + OK_PLAN + "input: hi\n", "1:8: title: expected a string, got an integer (42)"),
    "bad_mode": (
        "title: t\n" + OK_PLAN + "input: hi\nmode: sync\n",
        "6:7: mode: must be one of run, streamed, auto; got a string ('sync')",
    ),
    "missing_fixture": (
        "title: t\nplan:\n  steps:\n    - replay: fixtures/nope.jsonl\ninput: hi\n",
        "4:15: plan.steps[0].replay: fixture file not found: fixtures/nope.jsonl "
        "(paths are relative to the project root)",
    ),
    "unknown_fault": (
        "title: t\nplan:\n  steps:\n    - replay: fixtures/ok.jsonl\n      faults:\n        exit_cod: 1\ninput: hi\n",
        "6:9: plan.steps[0].faults.exit_cod: unknown key 'exit_cod' (allowed: big_line, close_stdout_after, "
        "cut_last_line, delay_before_ms, delay_between_ms, echo_stdin, exit_before_stdin, exit_code, "
        "hang_after_line, ignore_sigterm, malformed_line, signal, stderr, unknown_event, unknown_item)",
    ),
    "fault_wrong_type": (
        "title: t\nplan:\n  steps:\n    - replay: fixtures/ok.jsonl\n      faults:\n        exit_code: one\n"
        "input: hi\n",
        "6:20: plan.steps[0].faults.exit_code: expected an integer, got a string ('one')",
    ),
    "unknown_thread_option": (
        "title: t\n" + OK_PLAN + "options:\n  thread:\n    sandbox: read-only\ninput: hi\n",
        "7:5: options.thread.sandbox: unknown key 'sandbox' (allowed: additional_directories, approval_policy, "
        "model, model_reasoning_effort, network_access_enabled, sandbox_mode, skip_git_repo_check, thread_source, "
        "web_search_enabled, web_search_mode, working_directory)",
    ),
    "two_sources": (
        "title: t\nplan:\n  steps:\n    - replay: fixtures/ok.jsonl\n      lines: ['{}']\ninput: hi\n",
        "4:7: plan.steps[0]: a step needs exactly one of replay, lines, events (got replay, lines)",
    ),
    "no_input": ("title: t\n" + OK_PLAN, "1:1: missing required key 'input' (or 'turns' for a multi-turn scenario)"),
    "input_and_turns": (
        "title: t\n" + OK_PLAN + "input: hi\nturns:\n  - input: again\n",
        "5:1: input: 'input' cannot be combined with 'turns': give each turn its own input",
    ),
    "reserved_key": (
        "title: t\n" + OK_PLAN + "input: hi\nattachments: []\n",
        "6:1: attachments: 'attachments' is reserved for a later version of the scenario format and not supported yet",
    ),
    "bad_expect_key": (
        "title: t\n" + OK_PLAN + "input: hi\nexpect:\n  outcome.kind: exit\n",
        "7:3: expect.outcome.kind: invalid expectation key 'outcome.kind': the path must start with one of "
        "divergence, earlier_turns, error, events, invocations, leftover_process, logs, replies, requests, result, "
        "telemetry",
    ),
    "bad_expect_op_value": (
        "title: t\n" + OK_PLAN + "input: hi\nexpect:\n  error exists: maybe\n",
        "7:17: expect.error exists: 'exists' takes true or false, got a string ('maybe')",
    ),
    "bad_regex": (
        "title: t\n" + OK_PLAN + "input: hi\nexpect:\n  error.message matches: '(unclosed'\n",
        "7:26: expect.error.message matches: invalid regular expression: missing ), unterminated subpattern at "
        "position 0",
    ),
    "yaml_syntax": (
        "title: t\nplan: [\ninput: hi\n",
        "2:7: invalid YAML: expected ',' or ']', but got '<stream end>' at line 4 while parsing a flow sequence",
    ),
    "yaml_unclosed_quote": (
        'title: "unclosed\ninput: hi\n' + OK_PLAN,
        "1:8: invalid YAML: found unexpected end of stream at line 6 while scanning a quoted scalar",
    ),
    "duplicate_key": ("title: t\ntitle: u\n" + OK_PLAN + "input: hi\n", "2:1: title: duplicate key 'title'"),
    "input_wrong_type": (
        "title: t\n" + OK_PLAN + "input: 42\n",
        "5:8: input: expected a string or a list, got an integer (42)",
    ),
    "image_part_without_path": (
        "title: t\n" + OK_PLAN + "input:\n  - type: local_image\n",
        "6:5: input[0]: a local_image part needs 'path'",
    ),
    "bad_tag": (
        "title: t\ntags: [Fast Lane]\n" + OK_PLAN + "input: hi\n",
        "2:8: tags[0]: 'Fast Lane' does not match the pattern ^[a-z][a-z0-9_]*$",
    ),
    "forbidden_tag": (
        "title: t\ntags: [skip]\n" + OK_PLAN + "input: hi\n",
        "2:8: tags[0]: 'skip' is a pytest marker with a meaning of its own; choose another tag",
    ),
    "fewer_steps_than_turns": (
        "title: t\n" + OK_PLAN + "turns:\n  - input: one\n  - input: two\n",
        "4:5: plan.steps: the plan has 1 step(s) but the scenario runs 2 turns: one step per turn",
    ),
    "resume_first_turn": (
        "title: t\n" + OK_PLAN + "turns:\n  - input: one\n    thread: resume\n",
        "7:13: turns[0].thread: the first turn cannot resume: there is no earlier thread",
    ),
    "empty": ("", "1:1: empty scenario file"),
    "auto_without_mode_auto": (
        "title: t\n" + OK_PLAN + "input: hi\nauto:\n  tool_results: {add: 3}\n",
        "6:1: auto: 'auto' applies only to mode: auto (this turn's mode is run)",
    ),
    "auto_in_turn_with_mode_streamed": (
        "title: t\n" + OK_PLAN + "turns:\n  - input: one\n    mode: streamed\n    auto: {}\n",
        "8:5: turns[0].auto: 'auto' applies only to mode: auto (this turn's mode is streamed)",
    ),
    "auto_and_turns": (
        "title: t\n" + OK_PLAN + "auto: {}\nturns:\n  - input: one\n    mode: auto\n",
        "5:1: auto: 'auto' cannot be combined with 'turns': give each turn its own auto",
    ),
    "auto_max_attempts_zero": (
        "title: t\n" + OK_PLAN + "input: hi\nmode: auto\nauto:\n  policy:\n    max_attempts: 0\n",
        "9:19: auto.policy.max_attempts: must be >= 1, got 0",
    ),
    "auto_unknown_policy_key": (
        "title: t\n" + OK_PLAN + "input: hi\nmode: auto\nauto:\n  policy:\n    retries: 2\n",
        "9:5: auto.policy.retries: unknown key 'retries' (allowed: backoff, continuation_prompt, max_attempts, "
        "max_turns)",
    ),
    "auto_backoff_wrong_type": (
        "title: t\n" + OK_PLAN + "input: hi\nmode: auto\nauto:\n  policy:\n    backoff: {initial: soon}\n",
        "9:24: auto.policy.backoff.initial: expected a number, got a string ('soon')",
    ),
    "auto_unknown_key": (
        "title: t\n" + OK_PLAN + "input: hi\nmode: auto\nauto:\n  tools: {add: 3}\n",
        "8:3: auto.tools: unknown key 'tools' (allowed: policy, tool_results)",
    ),
    "auto_tool_results_not_mapping": (
        "title: t\n" + OK_PLAN + "input: hi\nmode: auto\nauto:\n  tool_results: [add]\n",
        "8:17: auto.tool_results: expected a mapping, got a list",
    ),
    "validate_output_wrong_type": (
        "title: t\n" + OK_PLAN + "options:\n  turn: {validate_output: yes please}\ninput: hi\n",
        "6:27: options.turn.validate_output: expected a boolean, got a string ('yes please')",
    ),
    "fake_plan_check": (
        "title: t\nplan:\n  steps:\n    - replay: fixtures/ok.jsonl\n      faults:\n        hang_after_line: 9\n"
        "input: hi\n",
        "6:26: plan.steps[0].faults.hang_after_line: must be between 0 and 2, got 9",
    ),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "ok.jsonl").write_text(
        '{"type":"thread.started","thread_id":"t-1"}\n{"type":"turn.started"}\n', encoding="utf-8"
    )
    (tmp_path / "scenarios" / "area").mkdir(parents=True)
    return tmp_path


def _write(project: Path, name: str, text: str) -> Path:
    path = project / "scenarios" / "area" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_scenario_message(project: Path, name: str) -> None:
    text, expected = CASES[name]
    path = _write(project, name, text)
    errors = validate_paths([path])
    assert [str(e) for e in errors] == [f"{path}:{expected}"]
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}:{expected}"
    assert info.value.path == path and info.value.line is not None


def test_at_least_fifteen_malformed_cases() -> None:
    assert len(CASES) >= 15


def test_all_errors_are_reported_sorted(project: Path) -> None:
    path = _write(project, "many", "title: 1\n" + OK_PLAN + "input: hi\nmode: x\nbogus: 1\n")
    messages = [str(e) for e in validate_paths([path])]
    assert [m.split(": ")[0] for m in messages] == [f"{path}:1:8", f"{path}:6:7", f"{path}:7:1"]


def test_duplicate_ids(project: Path) -> None:
    first = _write(project, "same", "title: t\n" + OK_PLAN + "input: hi\n")
    second = first.with_suffix(".yml")
    second.write_text(first.read_text())
    errors = validate_paths([project / "scenarios"])
    assert [str(e) for e in errors] == [f"{second}:1:1: duplicate scenario id 'area/same' (also defined in {first})"]
    with pytest.raises(ScenarioError, match="duplicate scenario id"):
        load_all(project / "scenarios")


def test_id_must_be_area_slash_name(project: Path) -> None:
    deep = project / "scenarios" / "area" / "sub" / "x.yaml"
    deep.parent.mkdir()
    deep.write_text("title: t\n" + OK_PLAN + "input: hi\n")
    assert [str(e) for e in validate_paths([deep])] == [
        f"{deep}:1:1: scenario files live at scenarios/<area>/<name>.yaml; got scenarios/area/sub/x.yaml"
    ]
    upper = _write(project, "Upper", "title: t\n" + OK_PLAN + "input: hi\n")
    assert [str(e) for e in validate_paths([upper])] == [
        f"{upper}:1:1: 'Upper' in the scenario id is not a lowercase slug ([a-z0-9][a-z0-9_-]*)"
    ]


def test_valid_scenario_model(project: Path) -> None:
    path = _write(
        project,
        "multi",
        "title: two turns\ntags: [resume, fast]\nplan:\n  steps:\n    - replay: fixtures/ok.jsonl\n"
        "    - events: [{type: turn.started}]\noptions:\n  thread: {model: m}\n  turn: {idle_timeout: 2}\n"
        "turns:\n  - input: one\n  - input: [{type: text, text: two}]\n    mode: streamed\n    thread: resume\n"
        "expect:\n  error: null\n  invocations.1.argv contains: resume\n",
    )
    scenario = load_scenario(path)
    assert scenario.id == "area/multi"
    assert scenario.tags == ("resume", "fast")
    assert scenario.modes == (Mode.RUN, Mode.STREAMED)
    assert scenario.turns[1].thread is ThreadMode.RESUME
    assert scenario.turns[1].sdk_input() == [{"type": "text", "text": "two"}]
    assert scenario.fixtures == ("fixtures/ok.jsonl",)
    assert scenario.cli_versions == ()
    assert [(e.path, e.op) for e in scenario.expect] == [(("error",), "=="), (("invocations", "1", "argv"), "contains")]
    assert scenario.golden_root == project / "golden"


def test_auto_scenario_model(project: Path) -> None:
    turns = (
        "turns:\n"
        "  - input: one\n"
        "    mode: auto\n"
        "    auto:\n"
        "      policy: {max_attempts: 2, backoff: {initial: 0.5}, continuation_prompt: go}\n"
        "      tool_results: {add: 3, lookup: {city: Paris}}\n"
        "  - input: two\n"
        "    mode: auto\n"
        "  - input: three\n"
    )
    text = "title: auto\n" + OK_PLAN + "    - replay: fixtures/ok.jsonl\n" * 2 + turns
    path = _write(project, "auto", text)
    scenario = load_scenario(path)
    assert scenario.modes == (Mode.AUTO, Mode.AUTO, Mode.RUN)
    first, second, third = scenario.turns
    assert first.auto is not None and second.auto is not None and third.auto is None
    assert first.auto.policy_kwargs() == {"max_attempts": 2, "continuation_prompt": "go"}
    assert first.auto.backoff == {"initial": 0.5}
    assert first.auto.tool_results == {"add": 3, "lookup": {"city": "Paris"}}
    assert second.auto == AutoSpec() and second.auto.backoff == {} and second.auto.policy_kwargs() == {}


def test_selection(project: Path) -> None:
    _write(project, "alpha_shell", "title: runs a shell\ntags: [shell]\n" + OK_PLAN + "input: hi\n")
    _write(project, "beta", "title: plain\ntags: [basic]\n" + OK_PLAN + "input: hi\n")
    root = project / "scenarios"
    assert [s.id for s in load_all(root)] == ["area/alpha_shell", "area/beta"]
    assert [s.id for s in load_all(root, keyword="shell")] == ["area/alpha_shell"]
    assert [s.id for s in load_all(root, keyword="not shell and area")] == ["area/beta"]
    assert [s.id for s in load_all(root, keyword="(basic or shell) and not beta")] == ["area/alpha_shell"]
    assert [s.id for s in load_all(root, tags=["basic"])] == ["area/beta"]


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    shipped = json.loads((REPO / "harness" / "scenario" / "schema.json").read_text())
    assert shipped == schema()


def test_repository_scenarios_are_valid() -> None:
    assert validate_paths([REPO / "scenarios"]) == []
    scenarios = load_all(REPO / "scenarios")
    assert len(scenarios) >= 30
    used = {f for s in scenarios for f in s.fixtures}
    # Every exec transcript under fixtures/real/ is replayed by some scenario (the recorded versions' by the ones
    # scenarios/recorded.yaml generates from the case catalogue).
    every = {p.relative_to(REPO).as_posix() for p in (REPO / "fixtures" / "real").glob("*/*.jsonl")}
    assert every <= used, f"fixtures without a scenario: {sorted(every - used)}"
    assert {"0.163.0", "0.169.0"} <= {v for s in scenarios for v in s.cli_versions}


def test_repository_scenarios_cover_every_fault_in_both_modes() -> None:
    faults = set(schema()["$defs"]["faults"]["properties"])
    covered: dict[str, set[str]] = {f: set() for f in faults}
    for scenario in load_all(REPO / "scenarios"):
        for step in scenario.plan.get("steps", []):
            for fault in step.get("faults", {}):
                covered[fault].update(str(m) for m in scenario.modes)
    assert {f: modes for f, modes in covered.items() if not {"run", "streamed"} <= modes} == {}
