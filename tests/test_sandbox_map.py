"""The one sandbox table, checked against what real SDKs send on each transport.

Exec: every row's arguments, for every recorded TypeScript SDK call, appear in the recorded argv exactly as the
table renders them (and ``build_argv`` renders through the table). App-server: every ``thread/start`` the
official Python SDK sent (both CLI versions' ``sdk/`` recordings) is rebuilt from its thread options through the
table, with only the params that are not thread options passed on as extras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.reference.exec.argv import build_argv
from harness.reference.options import ThreadOptions
from harness.reference.sandbox_map import SANDBOX_OPTIONS, exec_args, option, thread_start_params

ROOT = Path(__file__).resolve().parent.parent
TS_CASES: list[dict[str, Any]] = json.loads(
    (ROOT / "fixtures" / "argv" / "typescript-codex-sdk.json").read_text("utf-8")
)
SDK_RECORDINGS = sorted((ROOT / "fixtures" / "appserver").glob("*/sdk/*.jsonl"))  # copies of the shared corpus
#: thread/start params that are not thread options (the SDK passes them as they are)
NOT_THREAD_OPTIONS = {"approvalsReviewer", "dynamicTools", "config"}
CAMEL = {
    "sandboxMode": "sandbox_mode",
    "workingDirectory": "working_directory",
    "approvalPolicy": "approval_policy",
    "additionalDirectories": "additional_directories",
    "networkAccessEnabled": "network_access_enabled",
    "model": "model",
}


def _contains(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack) - len(needle) + 1))


@pytest.mark.parametrize("case", TS_CASES, ids=[c["case"] for c in TS_CASES])
def test_every_row_renders_as_the_typescript_sdk_passed_it(case: dict[str, Any]) -> None:
    argv = case["calls"][0]["argv"]
    options = {CAMEL[k]: v for k, v in case["thread_options"].items() if k in CAMEL}
    for name, value in options.items():
        rendered = exec_args(name, value)
        assert rendered, name
        assert _contains(argv, rendered), (name, rendered, argv)
    thread = ThreadOptions.from_mapping({k: v for k, v in options.items()})
    ours = build_argv(None, thread)
    for row in SANDBOX_OPTIONS:
        rendered = row.exec_args(getattr(thread, row.name))
        assert (not rendered) or _contains(ours, rendered)


def test_the_rows_cover_the_sandbox_flags_of_the_brief() -> None:
    assert exec_args("sandbox_mode", "read-only") == ["--sandbox", "read-only"]
    assert exec_args("additional_directories", ["/a", "/b"]) == ["--add-dir", "/a", "--add-dir", "/b"]
    assert exec_args("approval_policy", "never") == ["--config", 'approval_policy="never"']
    assert exec_args("network_access_enabled", False) == ["--config", "sandbox_workspace_write.network_access=false"]
    assert exec_args("network_access_enabled", None) == [] and exec_args("sandbox_mode", "") == []
    assert option("sandbox_mode").param == "sandbox" and option("approval_policy").param == "approvalPolicy"


@pytest.mark.parametrize("recording", SDK_RECORDINGS, ids=[f"{p.parent.parent.name}/{p.stem}" for p in SDK_RECORDINGS])
def test_thread_start_of_the_official_python_sdk(recording: Path) -> None:
    starts = [
        json.loads(line)["msg"]
        for line in recording.read_text("utf-8").splitlines()
        if '"thread/start"' in line and json.loads(line)["dir"] == "c2s"
    ]
    assert starts, recording
    sent = starts[0]["params"]
    by_param = {row.param: row.name for row in SANDBOX_OPTIONS if row.param is not None}
    unknown = set(sent) - set(by_param) - NOT_THREAD_OPTIONS
    assert not unknown, unknown
    options = {by_param[key]: value for key, value in sent.items() if key in by_param}
    extra = {key: value for key, value in sent.items() if key in NOT_THREAD_OPTIONS}
    assert thread_start_params(options, extra=extra) == sent
    assert thread_start_params(ThreadOptions.from_mapping(options), extra=extra) == sent


def test_config_rows_go_under_config_and_merge_with_extra_config() -> None:
    params = thread_start_params(
        {"network_access_enabled": True, "additional_directories": ("/x",), "sandbox_mode": "workspace-write"},
        cwd="/ws",
        extra={"config": {"sandbox_workspace_write": {"exclude_tmpdir_env_var": True}, "model": "m"}},
    )
    assert params == {
        "cwd": "/ws",
        "sandbox": "workspace-write",
        "config": {
            "sandbox_workspace_write": {
                "writable_roots": ["/x"],
                "network_access": True,
                "exclude_tmpdir_env_var": True,
            },
            "model": "m",
        },
    }
    assert thread_start_params({"working_directory": "/mine"}, cwd="/ws") == {"cwd": "/mine"}
