"""The registry reports every known adapter; a missing SDK, adapter script or broken install is "not installed",
never a crash. Installed peers are driven through AdapterClient on a real fixture."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.adapters import AdapterClient, Observed, list_adapters
from harness.adapters import install as peer_install
from harness.adapters.registry import ADAPTERS, ADAPTERS_DIR, connector_for, get_adapter, status_of
from harness.errors import AdapterError
from harness.fake import Plan, build_fake

ROOT = Path(__file__).resolve().parent.parent
PEERS = ["openai-agents", "ts", "codex-sdk-python", "openai-codex-sdk", "ai-sdk-codex"]
#: app-server SDKs: matrix adapters of app-server cases only (they skip exec cases)
APPSERVER_PEERS = ["openai-codex", "codex-python-sdk-unofficial", "codex-python-sdk"]


def test_known_adapters() -> None:
    statuses = list_adapters()
    assert [s.id for s in statuses] == ["reference", *PEERS, *APPSERVER_PEERS]
    reference = statuses[0]
    assert reference.installed and reference.version == harness.__version__ and reference.problem is None
    assert reference.command[1:] == ("-m", "harness.adapters.reference_adapter")
    for status in statuses:
        assert status.installed == (status.problem is None) == bool(status.command)
        assert status.install_hint


def test_adapter_script_paths() -> None:
    scripts = {spec.id: spec.script.relative_to(ADAPTERS_DIR).as_posix() for spec in ADAPTERS}
    assert scripts == {
        "reference": "reference_adapter.py",
        "openai-agents": "openai_agents_adapter.py",
        "ts": "ts/adapter.mjs",
        "ai-sdk-codex": "ai-sdk/adapter.mjs",
        "codex-sdk-python": "codex_sdk_python_adapter.py",
        "openai-codex-sdk": "openai_codex_sdk_adapter.py",
        "openai-codex": "appserver_peers/openai_codex_adapter.py",
        "codex-python-sdk-unofficial": "appserver_peers/unofficial_adapter.py",
        "codex-python-sdk": "appserver_peers/codex_python_sdk_adapter.py",
    }


@pytest.mark.parametrize("adapter_id", [*PEERS, *APPSERVER_PEERS])
def test_missing_sdk_is_not_installed(adapter_id: str, tmp_path: Path) -> None:
    status = status_of(get_adapter(adapter_id), cache_dir=tmp_path / "empty-cache")
    assert not status.installed and status.version is None and status.command == ()
    assert status.problem is not None and "is not installed" in status.problem
    assert status.install_hint == f"python -m harness.adapters.install {adapter_id}"


def test_not_installed_connector_raises_with_hint(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="'ts' is not installed: .*run: python -m harness.adapters.install ts"):
        connector_for("ts", cache_dir=tmp_path)


def test_broken_install_is_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(key: str, cache_dir: Path | None = None) -> Any:
        raise OSError("permission denied")

    monkeypatch.setattr(peer_install, "find_installed", explode)
    status = status_of(get_adapter("openai-codex-sdk"))
    assert not status.installed
    assert status.problem == "cannot inspect the install: OSError: permission denied"


def test_missing_adapter_script(tmp_path: Path) -> None:
    spec = dataclasses.replace(get_adapter("codex-sdk-python"), script=tmp_path / "gone.py")
    status = status_of(spec)
    assert not status.installed and status.problem is not None and "adapter script" in status.problem


def test_unknown_adapter() -> None:
    with pytest.raises(AdapterError, match="unknown adapter 'go' \\(known: reference, openai-agents, ts"):
        get_adapter("go")


def _case(mode: str) -> dict[str, Any]:
    return {
        "id": "registry-smoke",
        "turns": [{"input": "Say hello", "mode": mode, "turn_options": {}}],
        "codex_options": {"env": {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}},
        "thread_options": {"skip_git_repo_check": True},
        "resume_thread_id": None,
    }


@pytest.mark.parametrize(
    ("adapter_id", "in_process"),
    [("reference", True), ("reference", False), *[(peer, None) for peer in PEERS]],
)
def test_installed_adapters_run_a_real_fixture(adapter_id: str, in_process: bool | None, tmp_path: Path) -> None:
    status = status_of(get_adapter(adapter_id))
    if not status.installed:
        pytest.skip(f"{adapter_id} not installed: {status.install_hint}")
    plan = Plan.from_mapping({"steps": [{"replay": "fixtures/real/0.169.0/agent_message.jsonl"}] * 2}, base_dir=ROOT)
    fake = build_fake(plan, tmp_path / "fake", log_path=tmp_path / "log.jsonl")

    async def main() -> list[Any]:
        async with AdapterClient(connector_for(adapter_id, in_process=in_process), read_timeout=60) as client:
            assert client.implementation.version == status.version
            return [await client.run(_case(m), codex_path=fake, workdir=tmp_path) for m in ("run", "streamed")]

    ran, streamed = asyncio.run(main())
    assert isinstance(ran, Observed) and isinstance(streamed, Observed), (ran, streamed)
    assert ran.observation["error"] is None and ran.observation["result"]["final_response"] == "Hello from fake server"
    assert streamed.observation["error"] is None and len(streamed.observation["events"]) >= 3
