"""``harness tools validate``: every malformed manifest gives its exact located message, exit 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.reference.tools import (
    FunctionTool,
    ManifestError,
    Namespace,
    ToolRegistry,
    check_manifest,
    load_manifest,
)

REPO = Path(__file__).resolve().parent.parent
BAD = Path("fixtures/synthetic/manifests")

#: file -> the exact lines ``harness tools validate`` prints for it.
EXPECTED: dict[str, list[str]] = {
    "bad_name_chars.yaml": ["3:11: tools[0].name: tool name must match ^[a-zA-Z0-9_-]+$: 'lookup.weather'"],
    "deferred_top_level.yaml": [
        "7:19: tools[0].deferLoading: deferred dynamic tool must include a namespace: lookup_weather "
        "(codex rejects thread/start with -32600); move it into a namespace or drop deferLoading"
    ],
    "duplicate_key.yaml": ["5:5: tools[0].description: duplicate key 'description'"],
    "duplicate_tool.yaml": ["6:11: tools[1].name: duplicate tool name 'lookup' (first declared at tools[0])"],
    "empty_description.yaml": [
        "4:18: tools[0].description: description must be a non-empty string (the model reads it to choose the tool)"
    ],
    "name_too_long.yaml": [
        "3:11: tools[0].name: tool name must be at most 128 characters: 'tttttttttttttttttttt'… (129 characters)"
    ],
    "namespace_empty.yaml": ["5:12: namespaces[0].tools: namespace 'weather' must contain at least one tool"],
    "namespace_reserved.yaml": [
        "3:11: namespaces[0].name: namespace name collides with a reserved Responses API namespace: 'functions'"
    ],
    "nested_namespace.yaml": [
        "6:15: namespaces[0].tools[0].type: a namespace cannot be nested in a namespace or listed under 'tools'"
    ],
    "not_a_mapping.yaml": ["2:1: a manifest must be a mapping with 'tools' and/or 'namespaces', not a list"],
    "reserved_mcp_name.yaml": ["3:11: tools[0].name: tool name is reserved for MCP tools: 'mcp__files__read'"],
    "schema_invalid.yaml": [
        "9:17: tools[0].inputSchema.properties.city.type: not a valid JSON Schema: "
        "'strng' is not valid under any of the given schemas"
    ],
    "schema_not_object.yaml": [
        "6:13: tools[0].inputSchema.type: input schema must have type: object at the top (found 'array')"
    ],
    "schema_required_string.json": [
        "9:17: tools[0].inputSchema.required: not a valid JSON Schema: 'city' is not of type 'array'"
    ],
    "trailing_comma.json": ["5:3: invalid JSON: Expecting value"],
    "unknown_key.yaml": [
        "3:5: tools[0]: a tool is missing required key 'inputSchema'",
        "5:5: tools[0].input_schema: unknown key 'input_schema' in a tool (did you mean 'inputSchema'?)",
    ],
    "yaml_syntax.yaml": [
        "6:7: invalid YAML: while parsing a flow mapping: expected ',' or '}', but got '<stream end>' "
        "(noticed at line 7, column 1)"
    ],
}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(REPO)  # paths in messages are as given on the command line
    return CliRunner()


def test_every_fixture_is_covered_and_documented() -> None:
    on_disk = {p.name for p in (REPO / BAD).iterdir() if p.is_file() and p.suffix in (".yaml", ".json")}
    assert on_disk == set(EXPECTED)
    assert len(on_disk) >= 10
    readme = (REPO / BAD / "README.md").read_text(encoding="utf-8")
    for name in on_disk:
        assert f"| {name} |" in readme
        first = (REPO / BAD / name).read_text(encoding="utf-8").splitlines()[:2]
        assert any("WRONG:" in line for line in first), f"{name} does not say what is wrong"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_manifest_exact_located_message(runner: CliRunner, name: str) -> None:
    path = BAD / name
    result = runner.invoke(app, ["tools", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout.splitlines() == [f"{path}:{line}" for line in EXPECTED[name]]
    assert "problem(s) in 1 manifest(s)" in result.stderr


def test_several_files_report_all_problems(runner: CliRunner) -> None:
    names = ["duplicate_tool.yaml", "ok/weather.yaml", "unknown_key.yaml"]
    result = runner.invoke(app, ["tools", "validate", *(str(BAD / n) for n in names)])
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 3
    assert "3 problem(s) in 2 manifest(s)" in result.stderr


def test_valid_manifests_print_one_ok_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", "validate", str(BAD / "ok/weather.yaml"), str(BAD / "ok/ping.json")])
    assert result.exit_code == 0, result.output
    assert result.stdout == "OK: 2 manifest(s), 3 tool(s)\n"


def test_missing_file_is_located_not_a_traceback(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tools", "validate", "no/such/manifest.yaml"])
    assert result.exit_code == 2
    assert result.stdout == "no/such/manifest.yaml: no such manifest file\n"


def test_json_values_come_from_json_not_yaml() -> None:
    manifest = load_manifest(REPO / BAD / "ok/ping.json")
    assert manifest.tools[0].input_schema["maxProperties"] == 10.0  # YAML 1.1 would read 1e1 as a string


def test_manifest_declares_what_the_registry_declares() -> None:
    manifest = load_manifest(REPO / BAD / "ok/weather.yaml")
    specs = manifest.dynamic_tools()
    assert [s["type"] for s in specs] == ["function", "namespace"]
    assert specs[1]["tools"][0]["deferLoading"] is True
    registry = ToolRegistry()
    for tool in manifest.tools:
        registry.register(FunctionTool(tool.name, tool.description, str, tool.input_schema))
    for ns in manifest.namespaces:
        for tool in ns.tools:
            registry.register(FunctionTool(tool.name, tool.description, str, tool.input_schema),
                              namespace=Namespace(ns.name, ns.description), defer_loading=tool.defer_loading)
    assert registry.dynamic_tools() == specs
    json.dumps(specs)


def test_check_manifest_returns_located_errors() -> None:
    errors = check_manifest(REPO / BAD / "unknown_key.yaml")
    assert all(isinstance(e, ManifestError) for e in errors)
    assert [(e.line, e.column, e.field) for e in errors] == [(3, 5, "tools[0]"), (5, 5, "tools[0].input_schema")]
    with pytest.raises(ManifestError):
        load_manifest(REPO / BAD / "unknown_key.yaml")
