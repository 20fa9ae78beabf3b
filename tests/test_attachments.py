"""Attachments in exec scenarios: staging input parts into the run's FileStore, a sweep before the turn, a missing
file, and ``invocations[].images`` in the observation (docs/scenarios.md, "Attachments")."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

import harness.scenario.transports.exec as exec_transport
from harness.errors import HarnessError, ScenarioError
from harness.reference.files import Attachment
from harness.scenario.compare import check_expectations
from harness.scenario.load import load_all, load_scenario, validate_paths
from harness.scenario.model import Scenario, TurnSpec
from harness.scenario.normalize import NormalizationContext, normalize
from harness.scenario.runner import observe, run_and_normalize
from harness.scenario.transports.exec import (
    STORE_DIR,
    ExecTransport,
    case_input,
    prepare_fake,
    recorded_invocations,
    sdk_input,
    stage_inputs,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
PNG = "fixtures/synthetic/images/tiny.png"
JPG = "fixtures/synthetic/images/tiny.jpg"


def _digest(relative: str) -> str:
    return hashlib.sha256((ROOT / relative).read_bytes()).hexdigest()


def _scenario(name: str) -> Scenario:
    return load_scenario(SCENARIOS / "attachments" / f"{name}.yaml", root=SCENARIOS)


def _with_parts(*parts: dict[str, Any], base: str = "staged_png") -> Scenario:
    """The base scenario with one turn whose input is ``parts`` (a text part first)."""
    text: dict[str, Any] = {"type": "text", "text": "Describe the image"}
    return dataclasses.replace(_scenario(base), turns=(TurnSpec(input=(text, *parts)),), expect=())


# ------------------------------------------------------------------------------------------------- staging


def test_a_stage_part_is_staged_into_the_run_store_by_content(tmp_path: Path) -> None:
    scenario = _with_parts({"type": "local_image", "stage": PNG}, {"type": "local_image", "stage": JPG})
    staged = stage_inputs(scenario, tmp_path / STORE_DIR)
    assert sorted(staged) == [(0, 1), (0, 2)]
    for key, relative, mime in (((0, 1), PNG, "image/png"), ((0, 2), JPG, "image/jpeg")):
        attachment = staged[key]
        assert isinstance(attachment, Attachment)
        digest = _digest(relative)
        assert attachment.sha256 == digest
        assert attachment.content_type == mime
        assert attachment.path == tmp_path / STORE_DIR / digest[:2] / digest
        assert attachment.path.read_bytes() == (ROOT / relative).read_bytes()
        assert attachment.expires_at is None  # kept parts never expire: the store lives as long as the workdir


def test_a_scenario_without_stage_parts_creates_no_store(tmp_path: Path) -> None:
    scenario = _with_parts({"type": "local_image", "path": "tiny.png"})
    assert stage_inputs(scenario, tmp_path / STORE_DIR) == {}
    assert not (tmp_path / STORE_DIR).exists()


def test_sweep_before_turn_removes_the_swept_part_and_keeps_the_others(tmp_path: Path) -> None:
    scenario = _with_parts(
        {"type": "local_image", "stage": PNG, "ttl": 5, "sweep_before_turn": True},
        {"type": "local_image", "stage": JPG, "ttl": 5},
    )
    staged = stage_inputs(scenario, tmp_path / STORE_DIR)
    swept, kept = staged[(0, 1)], staged[(0, 2)]
    assert swept.sha256 == _digest(PNG)
    assert not swept.path.exists()
    assert kept.path.exists()
    assert kept.expires_at is not None


def test_a_swept_part_whose_content_another_part_keeps_is_refused(tmp_path: Path) -> None:
    scenario = _with_parts(
        {"type": "local_image", "stage": PNG, "sweep_before_turn": True},
        {"type": "local_image", "stage": PNG},
    )
    with pytest.raises(ScenarioError, match="sweep_before_turn") as caught:
        stage_inputs(scenario, tmp_path / STORE_DIR)
    assert caught.value.field == "input[2].stage"


def test_a_file_that_cannot_be_staged_is_a_located_scenario_error(tmp_path: Path) -> None:
    scenario = _with_parts({"type": "local_image", "stage": "fixtures/synthetic/images/absent.png"})
    with pytest.raises(ScenarioError, match="cannot stage fixtures/synthetic/images/absent.png") as caught:
        stage_inputs(scenario, tmp_path / STORE_DIR)
    assert caught.value.field == "input[1].stage"
    assert str(scenario.path) in str(caught.value)


# ------------------------------------------------------------------------------------- what each side gets


def test_the_reference_gets_the_attachment_and_a_case_gets_its_path(tmp_path: Path) -> None:
    scenario = _with_parts({"type": "local_image", "stage": PNG}, {"type": "local_image", "path": "other.png"})
    staged = stage_inputs(scenario, tmp_path / STORE_DIR)
    turn = scenario.turns[0]
    reference = sdk_input(turn, 0, staged)
    assert isinstance(reference, list)
    assert reference[1] == {"type": "local_image", "path": staged[(0, 1)]}
    assert isinstance(reference[1]["path"], Attachment)
    assert reference[2] == {"type": "local_image", "path": "other.png"}
    case = case_input(turn, 0, staged)
    assert case == [reference[0], {"type": "local_image", "path": str(staged[(0, 1)].path)}, reference[2]]


def test_a_stage_part_that_was_not_staged_is_a_harness_error() -> None:
    scenario = _with_parts({"type": "local_image", "stage": PNG})
    with pytest.raises(HarnessError, match="was not staged"):
        sdk_input(scenario.turns[0], 0, {})


def test_a_string_input_passes_through() -> None:
    turn = TurnSpec(input="hello")
    assert sdk_input(turn, 0, {}) == "hello"
    assert case_input(turn, 0, {}) == "hello"


def test_the_portable_case_carries_the_staged_path_and_matches_case_json(tmp_path: Path) -> None:
    from harness.adapters.protocol import schema_errors

    scenario = _scenario("resume_staged_image")
    transport = ExecTransport()
    prepared = transport.prepare(scenario, tmp_path)
    case = transport.case(scenario, prepared)
    assert schema_errors("case", case) == []
    assert case["turns"][0]["input"] == "first turn"
    image = case["turns"][1]["input"][1]
    assert image == {"type": "local_image", "path": str(prepared.attachments[(1, 1)].path)}
    assert Path(image["path"]).read_bytes() == (ROOT / PNG).read_bytes()


# ----------------------------------------------------------------------------------------- the observation


def _images(observation: dict[str, Any], index: int = 0) -> Any:
    return observation["invocations"][index].get("images")


def test_a_staged_image_is_passed_by_its_store_path_and_found_with_its_digest() -> None:
    observation = observe(_scenario("staged_png"))
    digest = _digest(PNG)
    placeholder = f"<store>/{digest[:2]}/{digest}"
    argv = observation["invocations"][0]["argv"]
    assert argv[argv.index("--image") + 1] == placeholder
    assert _images(observation) == [{"path": placeholder, "exists": True, "sha256": digest}]


def test_resume_with_a_staged_image_passes_it_after_resume_on_the_second_turn_only() -> None:
    observation = observe(_scenario("resume_staged_image"))
    assert _images(observation, 0) is None  # no --image, no images key
    argv = observation["invocations"][1]["argv"]
    assert argv.index("resume") < argv.index("--image")
    assert _images(observation, 1)[0]["sha256"] == _digest(PNG)
    assert _images(observation, 1)[0]["exists"] is True


def test_a_swept_file_is_passed_but_absent_when_codex_reads_it(tmp_path: Path) -> None:
    scenario = _scenario("swept_before_turn")
    observation = run_and_normalize(scenario, workdir=tmp_path)
    digest = _digest(PNG)
    assert _images(observation) == [{"path": f"<store>/{digest[:2]}/{digest}", "exists": False, "sha256": None}]
    assert not (tmp_path / STORE_DIR / digest[:2] / digest).exists()


def test_a_missing_file_is_observed_as_absent() -> None:
    observation = observe(_scenario("missing_file"))
    assert _images(observation) == [{"path": "does-not-exist.png", "exists": False, "sha256": None}]


def test_an_invocation_without_images_has_no_images_key() -> None:
    scenario = dataclasses.replace(_scenario("staged_png"), turns=(TurnSpec(input="hello"),), expect=())
    observation = observe(scenario)
    assert len(observation["invocations"]) == 1
    assert "images" not in observation["invocations"][0]


def test_recorded_invocations_reads_images_from_the_log(tmp_path: Path) -> None:
    log = tmp_path / "invocations.jsonl"
    base = {"step": 0, "stdin": "x", "cwd": "/w", "env": {}, "output_schema": None}
    records = [
        {**base, "argv": ["exec"]},
        {**base, "argv": ["exec", "--image", "a.png"], "images": [{"path": "a.png", "exists": True, "sha256": "ab"}]},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    first, second = recorded_invocations(log, {})
    assert "images" not in first
    assert second["images"] == [{"path": "a.png", "exists": True, "sha256": "ab"}]


def test_store_paths_normalize_to_the_store_placeholder_not_the_workdir(tmp_path: Path) -> None:
    store = tmp_path / STORE_DIR
    context = NormalizationContext(workdir=tmp_path, store=store)
    data = {"argv": ["--image", f"{store}/b1/b1ff", f"{tmp_path}/other", f"{tmp_path}/storey"]}
    assert normalize(data, context)["argv"] == ["--image", "<store>/b1/b1ff", "<workdir>/other", "<workdir>/storey"]


def test_the_transport_normalization_context_names_the_store(tmp_path: Path) -> None:
    scenario = _scenario("staged_png")
    prepared = prepare_fake(scenario, tmp_path)
    context = exec_transport.normalization_context(scenario, prepared.workdir, prepared.fake)
    assert context.store == tmp_path / STORE_DIR


def test_every_attachments_scenario_meets_its_expectations() -> None:
    scenarios = load_all(SCENARIOS, keyword="attachments")
    assert len(scenarios) >= 6
    for scenario in scenarios:
        assert check_expectations(scenario, observe(scenario)) == []


def test_the_runner_leaves_no_temp_files(no_leaks: str) -> None:
    observation = observe(_scenario("swept_and_kept"))
    assert [image["exists"] for image in _images(observation)] == [False, True]


# ---------------------------------------------------------------------------------------------- validation


def _write(tmp_path: Path, body: str) -> Path:
    root = tmp_path / "scenarios"
    (root / "x").mkdir(parents=True)
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "a.png").write_bytes((ROOT / PNG).read_bytes())
    (tmp_path / "fixtures" / "t.jsonl").write_text('{"type":"thread.started","thread_id":"t-1"}\n', encoding="utf-8")
    path = root / "x" / "y.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


_HEAD = """\
title: t
plan:
  steps:
    - replay: fixtures/t.jsonl
input:
  - {type: text, text: hi}
"""


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("{type: local_image, stage: fixtures/absent.png}", "7:32: input[1].stage: stage file not found"),
        ("{type: local_image, path: a.png, stage: fixtures/a.png}", "input[1].stage: a local_image part takes 'path'"),
        ("{type: local_image, path: a.png, ttl: 3}", "input[1].ttl: 'ttl' applies only to a staged file"),
        ("{type: local_image, path: a.png, sweep_before_turn: true}", "'sweep_before_turn' applies only to a staged"),
        ("{type: text, text: a, stage: fixtures/a.png}", "input[1].stage: a text part takes no 'stage'"),
        ("{type: local_image, stage: fixtures/a.png, ttl: -1}", "input[1].ttl"),
        ("{type: local_image}", "input[1]: a local_image part needs 'path'"),
    ],
)
def test_bad_stage_parts_are_located(tmp_path: Path, part: str, message: str) -> None:
    path = _write(tmp_path, _HEAD + f"  - {part}\n")
    errors = [str(error) for error in validate_paths([path])]
    assert any(message in error for error in errors), errors


def test_a_good_stage_part_validates(tmp_path: Path) -> None:
    path = _write(tmp_path, _HEAD + "  - {type: local_image, stage: fixtures/a.png, ttl: 3, sweep_before_turn: true}\n")
    assert validate_paths([path]) == []
    scenario = load_scenario(path, root=tmp_path / "scenarios")
    assert scenario.turns[0].input[1] == {
        "type": "local_image", "stage": "fixtures/a.png", "ttl": 3, "sweep_before_turn": True
    }


def test_stage_is_refused_on_the_app_server_transport(tmp_path: Path) -> None:
    body = """\
    title: t
    transport: app-server
    plan: {recording: fixtures/t.jsonl}
    input:
      - {type: local_image, stage: fixtures/a.png}
    """
    errors = [str(error) for error in validate_paths([_write(tmp_path, body)])]
    assert any("'stage' is supported on the exec transport only" in error for error in errors), errors


def test_exec_transport_all_is_sorted_and_resolves() -> None:
    """isort-style order (ruff RUF022): constants, classes, then functions."""
    names = exec_transport.__all__

    def group(name: str) -> int:
        return 0 if name.isupper() else 1 if name[0].isupper() else 2

    assert names == sorted(names, key=lambda name: (group(name), name))
    for name in names:
        assert hasattr(exec_transport, name), name


def test_turnspec_sdk_input_shows_a_stage_part_as_a_plain_local_image_of_its_source() -> None:
    scenario = _with_parts({"type": "local_image", "stage": PNG, "ttl": 3})
    assert scenario.turns[0].sdk_input()[1] == {"type": "local_image", "path": PNG}
