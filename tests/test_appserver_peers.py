"""App-server peer SDKs replayed against the fake app-server (docs/adapters-peers.md, "App-server peers").

Each installed SDK (installed here through ``harness.adapters.install``, cached; an install failure fails the test
with pip's reason) replays a handful of corpus recordings, and the divergence the fake reports is the one the
documentation states for that SDK, verified against the SDK's source. The adapter scripts run inside the SDK's
venv, so they must not import ``harness``.
"""

from __future__ import annotations

import ast
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import harness.adapters.appserver_peers as peers_pkg
from harness.adapters import install
from harness.adapters.appserver_peers import PEER_IDS, outcome_from_line, peer_driver, script_path, session_plan
from harness.errors import AdapterError
from harness.fake.appserver.recording import load_recording
from harness.fake.appserver.replay import DRIVERS, ReplayResult, make_driver, replay_recording

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "appserver"
PACKAGE = Path(peers_pkg.__file__).resolve().parent
SCRIPTS = sorted(PACKAGE.glob("*_script.py"))


def test_all_is_sorted_and_resolves() -> None:
    assert peers_pkg.__all__ == sorted(peers_pkg.__all__)
    for name in peers_pkg.__all__:
        assert getattr(peers_pkg, name) is not None


def _runtime_imports(path: Path) -> list[str]:
    """Modules ``path`` imports outside ``if TYPE_CHECKING:`` blocks (those never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    names: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                names.append(arg.value)
    return names


@pytest.mark.parametrize("script", [*SCRIPTS, PACKAGE / "_session.py"], ids=lambda p: p.name)
def test_adapter_scripts_import_nothing_from_harness(script: Path) -> None:
    imports = _runtime_imports(script)
    assert imports, f"{script.name}: no imports found (the check would be vacuous)"
    assert [m for m in imports if m == "harness" or m.startswith("harness.")] == []


def test_every_peer_has_its_script_and_a_registered_driver() -> None:
    assert len(SCRIPTS) == len(install.APPSERVER_PEERS)
    for key in install.APPSERVER_PEERS:
        assert script_path(key).is_file()
    assert set(PEER_IDS) <= set(DRIVERS)
    assert not set(install.APPSERVER_PEERS) & set(install.PEERS)  # never run as exec-matrix adapters


def test_plan_carries_cues_replies_and_the_recorded_decisions(tmp_path: Path) -> None:
    rec = load_recording(CORPUS / "0.171.0" / "approval_cmd_reply_after_interrupt.jsonl")
    plan = session_plan(rec, tmp_path / "codex", tmp_path, timeout=5.0, defer_timeout=1.0)
    json.dumps(plan)  # what the script reads is plain JSON
    assert [s["method"] for s in plan["steps"]] == ["thread/start", "turn/start", "turn/interrupt"]
    assert plan["steps"][0]["params"]["cwd"] == str(tmp_path)  # the recorded workspace becomes the live one
    assert plan["steps"][2]["after"] == {"key": "request:item/commandExecution/requestApproval", "count": 1}
    (reply,) = plan["replies"]
    assert reply["kind"] == "result" and reply["result"] == {"decision": "accept"}
    assert reply["after"] == {"key": "notification:serverRequest/resolved", "count": 1}  # deferred past the interrupt
    assert plan["initialize"]["capabilities"] == {"experimentalApi": True}

    silent = session_plan(load_recording(CORPUS / "0.171.0" / "approval_cmd_no_reply_then_interrupt.jsonl"),
                          tmp_path / "codex", tmp_path, timeout=5.0, defer_timeout=1.0)
    assert [r["kind"] for r in silent["replies"]] == ["none"]
    refused = session_plan(load_recording(CORPUS / "0.171.0" / "approval_cmd_error_reply.jsonl"),
                           tmp_path / "codex", tmp_path, timeout=5.0, defer_timeout=1.0)
    assert refused["replies"][0]["kind"] == "error" and refused["replies"][0]["error"]["code"] == -32000
    assert refused["replies"][0]["after"] is None


def test_a_script_that_prints_no_result_is_an_adapter_error() -> None:
    assert outcome_from_line(b"").error == "adapter"
    assert outcome_from_line(b"not json\n").error == "adapter"
    ok = outcome_from_line(b'{"completed": true, "error": null, "received": 7, "notes": ["x"],'
                           b' "sdk": {"distribution": "d", "version": "1"}}\n')
    assert (ok.completed, ok.error, ok.received, ok.notes) == (True, None, 7, ("sdk: d 1", "x"))


def test_an_unknown_or_missing_peer_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="unknown app-server peer"):
        peer_driver("no-such-sdk", timeout=1.0)
    with pytest.raises(AdapterError, match=r"python -m harness\.adapters\.install openai-codex"):
        peer_driver("openai-codex", timeout=1.0, cache_dir=tmp_path)


# ---------------------------------------------------------------------------------------------------- replays


@pytest.fixture(scope="module")
def installed() -> Iterator[dict[str, install.InstalledAdapter]]:
    found: dict[str, install.InstalledAdapter] = {}
    for key in install.APPSERVER_PEERS:
        try:
            found[key] = install.install(key)
        except AdapterError as exc:
            pytest.fail(f"cannot install app-server peer {key!r}: {exc}")
    yield found


def test_the_peer_venvs_hold_the_pinned_sdks_and_no_harness(installed: dict[str, install.InstalledAdapter]) -> None:
    for key, adapter in installed.items():
        assert adapter.sdk_version == install.APPSERVER_PEERS[key].version
        proc = subprocess.run([adapter.command[0], "-c", "import harness"], capture_output=True, text=True,
                              check=False, cwd="/")
        assert proc.returncode != 0 and "harness" in proc.stderr  # the scripts really run without it


def _replay(impl: str, rel: str) -> ReplayResult:
    driver = peer_driver(impl, timeout=4.0, defer_timeout=0.5)
    return replay_recording(CORPUS / rel, driver, timeout=1.5)


def _divergence(result: ReplayResult) -> tuple[Any, ...] | None:
    div = result.report.divergence
    return None if div is None else (div.method, div.reason, div.detail)


#: (driver, recording, expected divergence (method, reason, detail substring) or None for "as recorded").
#: Each row is one finding of docs/adapters-peers.md.
CASES: list[tuple[str, str, tuple[str, str, str] | None]] = [
    ("openai-codex", "0.171.0/sdk/sdk_lowlevel_custom_handler_decline.jsonl", None),
    ("openai-codex", "0.171.0/dynamic_tool_empty_result.jsonl", None),
    ("openai-codex", "0.171.0/approval_cmd_error_reply.jsonl",
     ("item/commandExecution/requestApproval", "no_reply", "without a reply")),
    ("codex-python-sdk-unofficial", "0.171.0/minimal_turn.jsonl",
     ("thread/start", "params_differ", "/approvalsReviewer: not in the recording (got null)")),
    ("codex-python-sdk-unofficial", "0.171.0/approval_auto_review_allow.jsonl",
     ("thread/start", "missing_message", "before thread/start")),
    ("codex-python-sdk-unofficial+raw", "0.171.0/dynamic_tool_ok.jsonl", None),
    ("codex-python-sdk-unofficial+raw", "0.171.0/approval_cmd_untrusted_accept.jsonl",
     ("item/commandExecution/requestApproval", "reply_kind_differs", "expected a result reply, got error")),
    ("codex-python-sdk", "0.171.0/minimal_turn.jsonl",
     ("turn/start", "params_differ", "/input/0/text_elements: not in the recording (got [])")),
    ("codex-python-sdk", "0.171.0/sdk/sdk_dynamic_tool_default_handler.jsonl",
     ("thread/start", "params_differ", "/sandbox: not in the recording (got \"workspace-write\")")),
]


@pytest.mark.parametrize(("impl", "rel", "expected"), CASES, ids=[f"{c[0]}:{Path(c[1]).stem}" for c in CASES])
def test_each_peer_parts_from_the_recording_where_documented(
        installed: dict[str, install.InstalledAdapter], no_leaks: str, impl: str, rel: str,
        expected: tuple[str, str, str] | None) -> None:
    result = _replay(impl, rel)
    got = _divergence(result)
    if expected is None:
        assert got is None, result.outcome
        assert result.ok and result.outcome.completed, result.outcome
        return
    assert got is not None, f"{impl} replayed {rel} as recorded; the documented finding is gone"
    assert got[:2] == expected[:2]
    assert expected[2] in str(got[2])


def test_the_official_handler_cannot_send_an_error_and_its_raise_ends_the_reader(
        installed: dict[str, install.InstalledAdapter], no_leaks: str) -> None:
    result = _replay("openai-codex", "0.171.0/approval_cmd_error_reply.jsonl")
    assert result.outcome.error == "RuntimeError"
    assert [r["got"] for r in result.report.replies] == ["no_reply"]


def test_the_unofficial_sdk_rejects_codexs_command_approval_params(
        installed: dict[str, install.InstalledAdapter], no_leaks: str) -> None:
    result = _replay("codex-python-sdk-unofficial+raw", "0.171.0/approval_cmd_untrusted_accept.jsonl")
    div = result.report.divergence
    assert div is not None and div.got is not None
    assert div.got["error"]["code"] == -32603  # "client server-request handler failed": the params did not parse
    assert "CommandExecutionApprovalRequestParams" in result.outcome.stderr_tail


def test_replay_cli_accepts_the_peer_ids(installed: dict[str, install.InstalledAdapter]) -> None:
    for impl in PEER_IDS:
        assert make_driver(impl, timeout=1.0).name == impl
