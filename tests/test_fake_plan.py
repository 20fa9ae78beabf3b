"""Plan loading and validation: every malformed plan is one PlanError naming file, line, column and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import PlanError
from harness.fake import Plan, load_plan
from harness.fake.codex.compile import compile_step

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "real" / "0.169.0" / "agent_message.jsonl"


def write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_contract_example_loads(tmp_path: Path) -> None:
    (tmp_path / "fx").mkdir()
    (tmp_path / "fx" / "a.jsonl").write_bytes(FIXTURE.read_bytes())
    path = write(
        tmp_path,
        """\
steps:
  - replay: fx/a.jsonl
  - lines: ['{"type":"thread.started","thread_id":"t1"}', 'not json']
  - events: [{type: thread.started, thread_id: t1}, {type: turn.started}]
    resume: t1
    faults:
      exit_code: 2
      stderr: "fake codex: simulated crash\\n"
      delay_before_ms: 100
      delay_between_ms: 10
      malformed_line: {after: 2, text: "this is not json"}
      cut_last_line: true
      big_line: {after: 2, bytes: 300000}
      unknown_event: {after: 2}
      unknown_item: {after: 2}
      echo_stdin: {after: 2}
      ignore_sigterm: true
  - events: [{type: turn.started}]
    faults: {signal: KILL, exit_before_stdin: true, close_stdout_after: 1}
""",
    )
    plan = load_plan(path)
    assert [s.kind for s in plan.steps] == ["replay", "lines", "events", "events"]
    assert plan.steps[0].lines[0].startswith(b'{"type":"thread.started"')
    assert plan.steps[1].lines == (b'{"type":"thread.started","thread_id":"t1"}', b"not json")
    assert plan.steps[2].lines == (b'{"type":"thread.started","thread_id":"t1"}', b'{"type":"turn.started"}')
    assert plan.steps[2].resume == "t1"
    assert plan.steps[2].faults.big_line is not None and plan.steps[2].faults.big_line.bytes == 300000
    assert plan.steps[3].faults.signal == "KILL"


def test_events_keep_key_order_and_unicode(tmp_path: Path) -> None:
    plan = Plan.from_mapping(
        {"steps": [{"events": [{"z": 1, "a": "é ✓", "m": [1.5, None, True]}]}]}, base_dir=tmp_path
    )
    assert plan.steps[0].lines == ('{"z":1,"a":"é ✓","m":[1.5,null,true]}'.encode(),)


def test_json_plan_with_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path, json.dumps({"steps": [{"lines": ["a"], "faults": {"exit_code": "x"}}]}, indent=2), "p.json"
    )
    with pytest.raises(PlanError) as info:
        load_plan(path)
    assert info.value.field == "steps[0].faults.exit_code"
    assert info.value.line == 8
    assert str(path) in str(info.value)


def test_from_mapping_names_source_and_field(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        Plan.from_mapping({"steps": [{"lines": [1]}]}, base_dir=tmp_path, source=Path("scenario.yaml"))
    assert str(info.value) == "scenario.yaml: steps[0].lines[0]: expected a string, got number 1"
    with pytest.raises(PlanError) as empty:
        Plan.from_mapping({"steps": []}, base_dir=tmp_path, source=Path("scenario.yaml"))
    assert str(empty.value) == "scenario.yaml: steps: a plan needs at least one step"


BAD_PLANS = [
    ("steps: [", 1, None, "invalid YAML"),
    ("[]", 1, None, "expected a mapping, got a list"),
    ("stepz: []", 1, "stepz", "unknown key 'stepz'"),
    ("description: x", 1, None, "missing required key 'steps'"),
    ("steps: {}", 1, "steps", "expected a list of steps"),
    ("steps: []", 1, "steps", "a plan needs at least one step"),
    ("description: nothing to do\nsteps: []\n", 2, "steps", "a plan needs at least one step"),
    ("steps:\n  - {}", 2, "steps[0]", "exactly one of replay, lines, events (got none)"),
    ("steps:\n  - lines: [a]\n    events: []", 2, "steps[0]", "got lines and events"),
    ("steps:\n  - replay: nope.jsonl", 2, "steps[0].replay", "cannot read fixture"),
    ("steps:\n  - lines: [a]\n    faults:\n      exit_cod: 1", 4, "steps[0].faults.exit_cod", "unknown key"),
    (
        "steps:\n  - lines: [a]\n    faults: {exit_code: 256}",
        3,
        "steps[0].faults.exit_code",
        "between 0 and 255",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {exit_code: true}",
        3,
        "steps[0].faults.exit_code",
        "expected an integer",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {signal: CHLD}",
        3,
        "steps[0].faults.signal",
        "non-terminating signal",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {signal: 17}",
        3,
        "steps[0].faults.signal",
        "not one that terminates",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {delay_before_ms: -1}",
        3,
        "steps[0].faults.delay_before_ms",
        ">= 0",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {hang_after_line: 2}",
        3,
        "steps[0].faults.hang_after_line",
        "between 0 and 1",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {malformed_line: {after: 1}}",
        3,
        "steps[0].faults.malformed_line",
        "missing required key 'text'",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {unknown_event: {after: 5}}",
        3,
        "steps[0].faults.unknown_event.after",
        "between 0 and 1",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {big_line: {after: 0, bytes: 10}}",
        3,
        "steps[0].faults.big_line.bytes",
        "between",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {hang_after_line: 1, exit_code: 2}",
        3,
        "steps[0].faults.exit_code",
        "cannot be",
    ),
    (
        "steps:\n  - lines: [a]\n    faults: {exit_before_stdin: true, echo_stdin: {after: 0}}",
        3,
        "steps[0].faults.echo_stdin",
        "cannot be combined with exit_before_stdin",
    ),
    ("steps:\n  - lines: [a]\n    resume: 123", 3, "steps[0].resume", "expected a string"),
    ('steps:\n  - lines: ["a\\nb"]', 2, "steps[0].lines[0]", "must not contain a newline"),
    ("steps:\n  - events: [x]", 2, "steps[0].events[0]", "an event must be a mapping"),
    ("steps:\n  - events: [{at: 2024-01-01}]", 2, "steps[0].events[0].at", "not a JSON value: date"),
    ("steps:\n  - events: [{a: .nan}]", 2, "steps[0].events[0].a", "NaN"),
    ("steps:\n  - lines: [a]\n    lines: [b]", 3, "steps[0].lines", "duplicate key"),
    ("steps:\n  - lines: [a]\n    faults: {1: 2}", 3, "steps[0].faults", "keys must be strings"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), BAD_PLANS)
def test_bad_plans(tmp_path: Path, text: str, line: int, field: str | None, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PlanError) as info:
        load_plan(path)
    err = info.value
    assert message in str(err)
    assert err.path == path
    assert err.line == line
    assert err.field == field
    assert str(err).startswith(f"{path}:{line}:")


def test_unreadable_plan(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read plan"):
        load_plan(tmp_path / "missing.yaml")


def test_compile_orders_inserts_and_cuts(tmp_path: Path) -> None:
    plan = Plan.from_mapping(
        {
            "steps": [
                {
                    "lines": ["l1", "l2"],
                    "faults": {
                        "malformed_line": {"after": 1, "text": "bad"},
                        "unknown_event": {"after": 1},
                        "cut_last_line": True,
                        "exit_code": 4,
                    },
                }
            ]
        },
        base_dir=tmp_path,
    )
    c = compile_step(plan.steps[0])
    assert c.out.startswith(b'l1\nbad\n{"type":"brand_new_event"')
    assert c.out.endswith(b"}\nl")  # "l2" cut in half, no newline
    assert c.ops == (("W", 0, len(c.out)), ("X", 4))
