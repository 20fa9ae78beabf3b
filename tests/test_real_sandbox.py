"""The loopback-only sandbox: interface check, guard, namespace, offline config and env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import harness.real as real_pkg
from harness.real import catalogue
from harness.real.install import ensure_installed
from harness.real.record import RecordError
from harness.real.record import record as run_record
from harness.real.sandbox import (
    HostIsolation,
    NetnsIsolation,
    SandboxError,
    interfaces,
    minimal_env,
    offline_config,
    redact_env,
    render_toml,
    require_loopback_only,
)

pytestmark = pytest.mark.usefixtures("no_leaks")

CORPUS_META = (Path(__file__).resolve().parents[1] / "fixtures" / "real/0.169.0/shell_ok.meta.json")
HEADER = (
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier\n"
)


def _net_dev(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "net_dev"
    path.write_text(HEADER + "".join(f"  {n}:       0       0    0    0    0     0\n" for n in names))
    return path


def test_all_is_sorted_and_resolves() -> None:
    assert real_pkg.__all__ == sorted(real_pkg.__all__)
    for name in real_pkg.__all__:
        assert getattr(real_pkg, name) is not None


def test_interfaces_and_loopback_check(tmp_path: Path) -> None:
    assert interfaces(_net_dev(tmp_path, "lo", "eth0")) == ("lo", "eth0")
    require_loopback_only(_net_dev(tmp_path, "lo"))
    with pytest.raises(SandboxError, match=r"not in a loopback-only network namespace .*lists lo, eth0"):
        require_loopback_only(_net_dev(tmp_path, "lo", "eth0"))
    with pytest.raises(SandboxError, match="lists none"):
        require_loopback_only(_net_dev(tmp_path))
    with pytest.raises(SandboxError, match="cannot read"):
        require_loopback_only(tmp_path / "missing")


def test_guard_refuses_a_net_dev_with_other_interfaces(tmp_path: Path) -> None:
    env = {**os.environ, "HARNESS_NET_DEV": str(_net_dev(tmp_path, "lo", "wlan0"))}
    done = subprocess.run(HostIsolation().wrap(["echo", "ran"]), capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().startswith("error: refusing to run the real codex")
    env["HARNESS_NET_DEV"] = str(_net_dev(tmp_path, "lo"))
    ok = subprocess.run(HostIsolation().wrap(["echo", "ran"]), capture_output=True, text=True, env=env, check=False)
    assert (ok.returncode, ok.stdout) == (0, "ran\n")


def test_the_host_namespace_is_refused() -> None:
    done = subprocess.run(HostIsolation().wrap(["true"]), capture_output=True, text=True, check=False)
    assert done.returncode == 2, "the host has a non-loopback interface, the guard must refuse"
    assert "loopback-only" in done.stderr


def test_netns_holds_only_loopback_and_it_is_up() -> None:
    argv = NetnsIsolation().wrap(
        [sys.executable, "-c", "import pathlib;print(pathlib.Path('/proc/self/net/dev').read_text())"]
    )
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    names = [line.split(":")[0].strip() for line in done.stdout.splitlines()[2:] if ":" in line]
    assert names == ["lo"]
    ping = NetnsIsolation().wrap(
        [
            sys.executable,
            "-c",
            "import socket;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();print('ok');s.close()",
        ]
    )
    assert subprocess.run(ping, capture_output=True, text=True, check=True).stdout == "ok\n"


def test_netns_refuses_when_not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SandboxError, match="needs root"):
        NetnsIsolation().wrap(["true"])


def test_netns_refuses_without_unshare(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("harness.real.sandbox.shutil.which", lambda name: None if name == "unshare" else "/usr/sbin/ip")
    with pytest.raises(SandboxError, match="needs `unshare`"):
        NetnsIsolation().wrap(["true"])


def test_offline_config_is_the_corpus_config_byte_for_byte() -> None:
    meta = json.loads(CORPUS_META.read_text())
    assert render_toml(offline_config()) == meta["config_toml"]


def test_offline_config_overrides_and_port() -> None:
    text = render_toml(
        offline_config(
            4242, overrides={"model_providers.fake.stream_idle_timeout_ms": 2000, "tools.update_plan.enabled": True}
        )
    )
    assert 'base_url = "http://127.0.0.1:4242/v1"' in text
    assert "stream_idle_timeout_ms = 2000" in text
    assert "[tools.update_plan]\nenabled = true" in text
    with pytest.raises(SandboxError, match="not a table"):
        offline_config(overrides={"model.x": 1})


def test_minimal_env_and_redaction(tmp_path: Path) -> None:
    env = minimal_env(tmp_path / "h", tmp_path / "u", changes={"FAKE_API_KEY": None, "EXTRA": "1"})
    assert sorted(env) == ["CODEX_HOME", "EXTRA", "HOME", "LANG", "PATH"]
    assert env["LANG"] == "C.UTF-8"
    assert "FAKE_API_KEY" in minimal_env(tmp_path, tmp_path)
    redacted = redact_env({"FAKE_API_KEY": "dummy", "OPENAI_API_KEY": "sk-1", "PROXY": "http://u:p@h/", "A": "b"})
    assert redacted == {
        "FAKE_API_KEY": "dummy",
        "OPENAI_API_KEY": "<redacted>",
        "PROXY": "http://<redacted>@h/",
        "A": "b",
    }


def test_recording_refuses_outside_a_loopback_only_namespace(tmp_path: Path) -> None:
    ensure_installed("0.171.0")
    (case,) = catalogue.select_cases(catalogue.load_catalogue(), ["agent_message"])
    with pytest.raises(RecordError, match="loopback-only"):
        run_record([case], "0.171.0", out=tmp_path / "out", isolation=HostIsolation())
    assert not (tmp_path / "out" / "0.171.0" / "agent_message.jsonl").exists()
