"""argv/env/stdin conformance with the TS SDK 0.163.0: every option, config flattening, and the recorded TS
argv."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.reference.errors import InvalidOptionsError
from harness.reference.exec.argv import (
    ORIGINATOR_ENV,
    build_argv,
    build_env,
    flatten_config,
    normalize_input,
    to_toml_value,
)
from harness.reference.exec.schema_file import OutputSchemaFile, render_schema
from harness.reference.options import (
    AbortController,
    CodexOptions,
    ThreadOptions,
    TurnOptions,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "argv"
TS_CASES: list[dict[str, Any]] = json.loads((FIXTURES / "typescript-codex-sdk.json").read_text("utf-8"))
SCHEMA_PLACEHOLDER = "<output-schema>"
BASE = ["exec", "--experimental-json"]


# --- recorded TS argv
# -----------------------------------------------------------------------------------------


def _normalize(argv: list[str]) -> list[str]:
    out = list(argv)
    for i, arg in enumerate(out[:-1]):
        if arg == "--output-schema":
            out[i + 1] = SCHEMA_PLACEHOLDER
    return out


@pytest.mark.parametrize("case", TS_CASES, ids=[c["case"] for c in TS_CASES])
def test_build_argv_matches_recorded_typescript_sdk(case: dict[str, Any]) -> None:
    call = case["calls"][0]
    recorded = call["argv"]
    # A resumed thread's id is whatever the recording's first thread got; take it from the recorded argv.
    thread_id = recorded[recorded.index("resume") + 1] if "resume" in recorded else None
    client = CodexOptions.from_mapping(case["client_options"])
    thread = ThreadOptions.from_mapping(case["thread_options"])
    prompt, images = normalize_input(case["input"])
    schema_path = SCHEMA_PLACEHOLDER if case["output_schema"] is not None else None
    ours = build_argv(
        client, thread, TurnOptions(), thread_id=thread_id, images=images, output_schema_path=schema_path
    )
    assert ours == _normalize(recorded)
    assert prompt == call["stdin"]
    if case["output_schema"] is not None:
        assert render_schema(case["output_schema"]) == call["output_schema_file"]

    base_env = {
        "CODEX_HOME": "/srv/argv/home",
        "PATH": call["env"]["PATH"],
        "HOME": "/root",
        "LANG": "C.UTF-8",
    }
    env = build_env(client, base_env=base_env)
    for key, value in call["env"].items():
        if value is None:
            assert key not in env, key
        else:
            assert env[key] == value, key


def test_every_recorded_case_is_a_single_call() -> None:
    assert TS_CASES and all(len(c["calls"]) == 1 and c["calls"][0]["argv"] == c["argv"] for c in TS_CASES)


# --- every option, in order
# -----------------------------------------------------------------------------------


def test_no_options() -> None:
    assert build_argv() == BASE


def test_full_order() -> None:
    client = CodexOptions(
        base_url="http://x/v1",
        config={"a": {"b": 1}},
        config_overrides=["raw=1", 'raw2="x"'],
    )
    thread = ThreadOptions(
        model="m",
        thread_source="user",
        sandbox_mode="workspace-write",
        working_directory="/w",
        additional_directories=["/d1", "/d2"],
        skip_git_repo_check=True,
        model_reasoning_effort="high",
        network_access_enabled=False,
        web_search_mode="cached",
        approval_policy="never",
    )
    turn = TurnOptions(cyber_access_program="standard")
    argv = build_argv(client, thread, turn, images=["i1.png", "i2.png"], output_schema_path="/s.json")
    assert argv == [
        *BASE,
        "--config", "a.b=1",
        "--config", "raw=1",
        "--config", 'raw2="x"',
        "--config", 'openai_base_url="http://x/v1"',
        "--model", "m",
        "--thread-source", "user",
        "--sandbox", "workspace-write",
        "--cd", "/w",
        "--add-dir", "/d1",
        "--add-dir", "/d2",
        "--skip-git-repo-check",
        "--output-schema", "/s.json",
        "--cyber-access-program", "standard",
        "--config", 'model_reasoning_effort="high"',
        "--config", "sandbox_workspace_write.network_access=false",
        "--config", 'web_search="cached"',
        "--config", 'approval_policy="never"',
        "--image", "i1.png",
        "--image", "i2.png",
    ]  # fmt: skip


def test_resume_comes_after_every_config_and_before_images() -> None:
    thread = ThreadOptions(model="m", thread_source="user", approval_policy="never")
    argv = build_argv(None, thread, thread_id="T1", images=["a.png"])
    assert argv == [
        *BASE, "--model", "m", "--config", 'approval_policy="never"', "resume", "T1", "--image", "a.png",
    ]  # fmt: skip
    assert "--thread-source" not in argv  # the CLI rejects it after resume; TS emits it only for new threads


@pytest.mark.parametrize(
    ("enabled", "mode", "expected"),
    [
        (True, None, ["--config", 'web_search="live"']),
        (False, None, ["--config", 'web_search="disabled"']),
        (None, None, []),
        (False, "live", ["--config", 'web_search="live"']),  # the mode wins
        (True, "disabled", ["--config", 'web_search="disabled"']),
    ],
)
def test_web_search(enabled: bool | None, mode: str | None, expected: list[str]) -> None:
    argv = build_argv(None, ThreadOptions(web_search_enabled=enabled, web_search_mode=mode))
    assert argv == BASE + expected


@pytest.mark.parametrize("value", [True, False])
def test_network_access_both_values(value: bool) -> None:
    argv = build_argv(None, ThreadOptions(network_access_enabled=value))
    assert argv == [*BASE, "--config", f"sandbox_workspace_write.network_access={str(value).lower()}"]


def test_falsy_values_emit_nothing_like_ts() -> None:
    thread = ThreadOptions(
        model="",
        sandbox_mode="",
        working_directory="",
        additional_directories=[],
        skip_git_repo_check=False,
        model_reasoning_effort="",
        approval_policy="",
    )
    assert build_argv(CodexOptions(base_url="", config={}, config_overrides=[]), thread, thread_id="") == BASE


def test_base_url_is_json_quoted() -> None:
    argv = build_argv(CodexOptions(base_url='http://h/"q"'))
    assert argv[-1] == 'openai_base_url="http://h/\\"q\\""'


# --- input normalization
# --------------------------------------------------------------------------------------


def test_normalize_input() -> None:
    assert normalize_input("hi") == ("hi", [])
    parts = [
        {"type": "text", "text": "a"},
        {"type": "local_image", "path": "/i.png"},
        {"type": "something_new", "x": 1},
        {"type": "text", "text": "b"},
    ]
    assert normalize_input(parts) == ("a\n\nb", ["/i.png"])
    assert normalize_input([]) == ("", [])


@pytest.mark.parametrize("bad", [b"bytes", 3, [1], [{"type": "text"}], [{"type": "local_image", "path": 1}]])
def test_normalize_input_rejects_garbage(bad: Any) -> None:
    with pytest.raises(InvalidOptionsError):
        normalize_input(bad)


# --- env
# --------------------------------------------------------------------------------------------------------


def test_env_inherits_and_sets_originator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_PARENT_VAR", "1")
    monkeypatch.delenv(ORIGINATOR_ENV, raising=False)
    env = build_env(CodexOptions(api_key="sk-1"))
    assert env["SOME_PARENT_VAR"] == "1"
    assert env[ORIGINATOR_ENV] == "codex_sdk_ts"
    assert env["CODEX_API_KEY"] == "sk-1"


def test_env_override_replaces_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEX_ENV_SHOULD_NOT_LEAK", "1")
    env = build_env(CodexOptions(env={"ONLY": "me"}))
    assert env == {"ONLY": "me", ORIGINATOR_ENV: "codex_sdk_ts"}


def test_env_existing_originator_wins_and_originator_is_configurable() -> None:
    assert build_env(CodexOptions(env={ORIGINATOR_ENV: "mine"}))[ORIGINATOR_ENV] == "mine"
    assert (
        build_env(CodexOptions(env={ORIGINATOR_ENV: ""}))[ORIGINATOR_ENV] == "codex_sdk_ts"
    )  # empty = unset
    assert build_env(CodexOptions(env={}, originator="codex_sdk_py"))[ORIGINATOR_ENV] == "codex_sdk_py"
    assert "CODEX_API_KEY" not in build_env(CodexOptions(env={}))


# --- config flattening
# ----------------------------------------------------------------------------------------


def test_flatten_examples_from_ts_tests() -> None:
    config = {"tool_rules": {"allow": ["git status", "git diff"]}, "retry_budget": 3}
    assert flatten_config(config) == ['tool_rules.allow=["git status", "git diff"]', "retry_budget=3"]


def test_flatten_nesting_inline_tables_and_keys() -> None:
    config = {
        "empty": {},
        "a": {"b": {"c": True}},
        "list": [{"x": 1, "needs quote": "v", "k-_9": []}, [1, 2.5]],
        "inline": [{}],
        "weird key": 1,  # path segments are not quoted (as TS)
    }
    assert flatten_config(config) == [
        "empty={}",
        "a.b.c=true",
        'list=[{x = 1, "needs quote" = "v", k-_9 = []}, [1, 2.5]]',
        "inline=[{}]",
        "weird key=1",
    ]
    assert flatten_config({}) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"), (-0.0, "0"), (0.1, "0.1"), (1e21, "1e+21"), (1e20, "100000000000000000000"),
        (1.5e-7, "1.5e-7"), (0.000001, "0.000001"), (123.456, "123.456"), (-2.5e300, "-2.5e+300"),
        (10**30, str(10**30)), (True, "true"), (False, "false"),
        ("é\n\"", '"é\\n\\""'), ("\x01", '"\\u0001"'),
    ],
)  # fmt: skip
def test_toml_scalars_render_like_javascript(value: Any, expected: str) -> None:
    assert to_toml_value(value, "p") == expected


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_js_number_rendering_round_trips(value: float) -> None:
    text = to_toml_value(value, "p")
    assert float(text) == value or (value == 0 and text == "0")
    assert "e-0" not in text and not text.endswith(".0")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"a": math.inf}, "Codex config override at a must be a finite number"),
        ({"a": {"b": [1, math.nan]}}, "Codex config override at a.b[1] must be a finite number"),
        ({"a": None}, "Codex config override at a cannot be null"),
        ({"a": [{"k": None}]}, "Codex config override at a[0].k cannot be null"),
        ({"a": {1, 2}}, "Unsupported Codex config override value at a: set"),
        ({"a": [b"x"]}, "Unsupported Codex config override value at a[0]: bytes"),
        ({"": 1}, "Codex config override keys must be non-empty strings"),
        ({"a": {"": 1}}, "Codex config override keys must be non-empty strings"),
        ({"a": [{"": 1}]}, "Codex config override keys must be non-empty strings"),
        ({1: 1}, "Codex config override keys must be non-empty strings"),
        (["a=1"], "Codex config overrides must be a plain object"),
        ("a=1", "Codex config overrides must be a plain object"),
    ],
)
def test_config_validation_errors_have_ts_texts(config: Any, message: str) -> None:
    with pytest.raises(InvalidOptionsError) as info:
        build_argv(CodexOptions(config=config))
    assert str(info.value) == message
    assert info.value.kind == "invalid_options"


# --- options builders
# -----------------------------------------------------------------------------------------


def test_from_mapping_accepts_snake_and_camel_and_rejects_unknown() -> None:
    assert ThreadOptions.from_mapping(
        {"sandboxMode": "read-only", "skip_git_repo_check": True}
    ) == ThreadOptions(sandbox_mode="read-only", skip_git_repo_check=True)
    assert CodexOptions.from_mapping(
        {"codexPathOverride": "/c", "configOverrides": ["a=1"]}
    ).config_overrides == ("a=1",)
    assert TurnOptions.from_mapping({"outputSchema": {"type": "object"}, "idleTimeout": 3}).idle_timeout == 3
    with pytest.raises(InvalidOptionsError, match=r"Unknown ThreadOptions field\(s\): \['sandbox'\]"):
        ThreadOptions.from_mapping({"sandbox": "read-only"})
    with pytest.raises(InvalidOptionsError, match="given twice"):
        ThreadOptions.from_mapping({"sandboxMode": "a", "sandbox_mode": "b"})
    with pytest.raises(InvalidOptionsError):
        CodexOptions.from_mapping(["not", "a", "mapping"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("factory"),
    [
        lambda: ThreadOptions(model=3),
        lambda: ThreadOptions(skip_git_repo_check="yes"),
        lambda: ThreadOptions(additional_directories="/one/dir"),
        lambda: CodexOptions(config_overrides="a=1"),
        lambda: CodexOptions(env={"A": 1}),
        lambda: TurnOptions(signal=object()),
        lambda: TurnOptions(idle_timeout=0),
        lambda: TurnOptions(idle_timeout=True),
    ],
)
def test_options_type_checks(factory: Any) -> None:
    with pytest.raises(InvalidOptionsError):
        factory()


def test_options_are_frozen_and_hashable_where_possible() -> None:
    thread = ThreadOptions(additional_directories=["/a"])
    assert thread.additional_directories == ("/a",)
    with pytest.raises(AttributeError):
        thread.model = "x"  # type: ignore[misc]
    assert hash(thread) == hash(ThreadOptions(additional_directories=("/a",)))


def test_abort_controller_listeners() -> None:
    controller = AbortController()
    calls: list[str] = []
    controller.signal.add_listener(lambda: calls.append("a"))
    removed = lambda: calls.append("removed")  # noqa: E731
    controller.signal.add_listener(removed)
    controller.signal.remove_listener(removed)
    assert not controller.signal.aborted
    controller.abort("why")
    controller.abort("again")
    assert controller.signal.aborted and controller.signal.reason == "why" and calls == ["a"]
    controller.signal.add_listener(lambda: calls.append("late"))
    assert calls == ["a", "late"]


# --- schema file
# ----------------------------------------------------------------------------------------------


def test_schema_file_written_compact_and_removed() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "number", "maximum": 1.0}}, "title": "é"}
    with OutputSchemaFile(schema) as path:
        assert path is not None and Path(path).name == "schema.json"
        assert Path(path).parent.name.startswith("codex-output-schema-")
        assert Path(path).read_text("utf-8") == (
            '{"type":"object","properties":{"n":{"type":"number","maximum":1}},"title":"é"}'
        )
    assert not Path(path).parent.exists()


def test_schema_file_removed_on_error_and_none_means_no_file() -> None:
    with pytest.raises(RuntimeError), OutputSchemaFile({"type": "object"}) as path:
        assert path is not None
        raise RuntimeError
    assert not Path(path).parent.exists()
    with OutputSchemaFile(None) as nothing:
        assert nothing is None


@pytest.mark.parametrize("schema", [[], "x", 1, True, {"a": math.nan}])
def test_schema_must_be_a_plain_object(schema: Any) -> None:
    with pytest.raises(InvalidOptionsError, match="^outputSchema must be a plain JSON object"):
        OutputSchemaFile(schema)


# --- property: every flattened override is valid TOML meaning the original value ------------------------

# Path segments are not quoted (TS parity), so a nested key holding "." or "=" makes an ambiguous override;
# the property is about values, so such keys are left out here.
_keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\x7f.="), min_size=1, max_size=8
).filter(lambda k: k.strip() == k)
_scalars = (
    st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: not float(f).is_integer())
    | st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x7f"), max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True), _values, max_size=4))
def test_flattened_values_are_toml_for_the_same_value(config: dict[str, Any]) -> None:
    import tomllib

    for override in flatten_config(config):
        path, _, literal = override.partition("=")
        node: Any = config
        for part in path.split("."):
            node = node[part]
        parsed = tomllib.loads(f"v = {literal}")["v"]
        assert parsed == node, override
