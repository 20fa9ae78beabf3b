"""The loopback-only network namespace the real codex runs in, and the offline ``CODEX_HOME`` it runs with.

Why: with a loopback model provider codex 0.169+ still resolves public hosts unless plugins and analytics are off
(real-codex-offline.md §0, §4). Config alone is a promise; a fresh network namespace holding only ``lo`` is a
guarantee that nothing leaves the machine. Every command we run with the real binary goes through an
:class:`Isolation`; the real one (:class:`NetnsIsolation`) wraps the argv in ``unshare --net`` plus
``python -m harness.real.guard``, which re-checks ``/proc/self/net/dev`` *from inside* before ``exec``. The fake one
(:class:`HostIsolation`) runs on the host network, so the guard refuses: that is how tests prove the refusal.

This module is stdlib-only on purpose: the guard imports it in every sandboxed process.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from harness.errors import HarnessError
from harness.redact import REDACTED, is_secret_key, redact_text

__all__ = [
    "DEFAULT_PATH",
    "DUMMY_API_KEY",
    "FAKE_PORT",
    "NET_DEV",
    "HostIsolation",
    "Isolation",
    "NetnsIsolation",
    "SandboxError",
    "interfaces",
    "minimal_env",
    "offline_config",
    "redact_env",
    "render_toml",
    "require_loopback_only",
]

#: Where the kernel lists the network interfaces of the calling process's namespace.
NET_DEV = Path("/proc/self/net/dev")
#: The fake server's port. Every case has its own namespace (its own loopback), so a fixed port never collides
#: and the recorded ``config.toml`` is byte-identical to the corpus's.
FAKE_PORT = 18770
#: The provider key codex sends as ``Authorization: Bearer ...``: a known dummy, never a secret.
DUMMY_API_KEY = "dummy"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Environment names are redacted more eagerly than harness.redact's key rule (any name containing one of these
# words): a recording's meta lists the whole environment codex saw.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)


class SandboxError(HarnessError):
    """The loopback-only sandbox cannot be set up, or a check inside it found a way out."""


def interfaces(net_dev: Path = NET_DEV) -> tuple[str, ...]:
    """The interface names of the namespace ``net_dev`` describes (``/proc/<pid>/net/dev`` format)."""
    try:
        text = net_dev.read_text(encoding="utf-8")
    except OSError as exc:
        raise SandboxError(f"{net_dev}: cannot read the interface list: {exc.strerror or exc}") from None
    names = [line.split(":", 1)[0].strip() for line in text.splitlines()[2:] if ":" in line]
    return tuple(name for name in names if name)


def require_loopback_only(net_dev: Path = NET_DEV) -> None:
    """Refuse (:class:`SandboxError`) unless the only interface is ``lo``: the real codex must not run here."""
    names = interfaces(net_dev)
    others = [name for name in names if name != "lo"]
    if others or not names:
        shown = ", ".join(names) or "none"
        raise SandboxError(
            f"refusing to run the real codex: not in a loopback-only network namespace ({net_dev} lists {shown})"
        )


class Isolation(Protocol):
    """Turns an argv into one that runs in some network isolation (the seam between real and test runs)."""

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """The argv to spawn instead of ``argv``."""
        ...


@dataclass(frozen=True)
class NetnsIsolation:
    """A fresh network namespace per command (``unshare --net``), ``lo`` brought up, checked from inside."""

    python: str = sys.executable

    def wrap(self, argv: Sequence[str]) -> list[str]:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            raise SandboxError("the loopback-only sandbox needs root (unshare --net needs CAP_SYS_ADMIN)")
        unshare, ip = shutil.which("unshare"), shutil.which("ip") or _sbin("ip")
        if unshare is None:
            raise SandboxError("the loopback-only sandbox needs `unshare` (util-linux), which is not on PATH")
        if ip is None:
            raise SandboxError("the loopback-only sandbox needs `ip` (iproute2), which is not on PATH")
        script = f'{ip} link set lo up && exec "$@"'
        return [unshare, "--net", "--", "/bin/sh", "-c", script, "sh", *_guarded(self.python, argv)]


@dataclass(frozen=True)
class HostIsolation:
    """No namespace at all (a test double): the guard still runs, so the real codex is refused on the host."""

    python: str = sys.executable

    def wrap(self, argv: Sequence[str]) -> list[str]:
        return _guarded(self.python, argv)


def _guarded(python: str, argv: Sequence[str]) -> list[str]:
    return [python, "-m", "harness.real.guard", "--", *argv]


def _sbin(name: str) -> str | None:
    for folder in ("/usr/sbin", "/sbin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


# -- offline CODEX_HOME and env


def offline_config(port: int = FAKE_PORT, *, overrides: Mapping[str, object] | None = None) -> dict[str, object]:
    """The offline config of real-codex-offline.md §2 as a nested dict (key order = file order), with dotted
    ``overrides`` (``"model_providers.fake.stream_idle_timeout_ms": 2000``) applied on top."""
    config: dict[str, object] = {
        "model": "gpt-5.5",
        "model_provider": "fake",
        "approval_policy": "never",
        "sandbox_mode": "workspace-write",
        "check_for_update_on_startup": False,
        "features": {"plugins": False, "unbounded_connection_retries": False},
        "model_providers": {
            "fake": {
                "name": "Fake Responses",
                "base_url": f"http://127.0.0.1:{port}/v1",
                "wire_api": "responses",
                "env_key": "FAKE_API_KEY",
                "request_max_retries": 0,
                "stream_max_retries": 0,
                "stream_idle_timeout_ms": 5000,
            }
        },
        "analytics": {"enabled": False},
    }
    for dotted, value in (overrides or {}).items():
        *parents, leaf = dotted.split(".")
        node = config
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise SandboxError(f"config override {dotted}: {part} is not a table")
            node = child
        node[leaf] = value
    return config


def render_toml(config: Mapping[str, object]) -> str:
    """A small TOML writer for the config shapes above: scalars first, then ``[dotted.tables]`` in order."""
    lines: list[str] = []
    _render_table(config, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _render_table(table: Mapping[str, object], prefix: tuple[str, ...], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    if prefix and scalars:
        lines.extend(["", f"[{'.'.join(prefix)}]"])
    lines.extend(f"{_key(k)} = {_value(v)}" for k, v in scalars)
    for key, sub in tables:
        assert isinstance(sub, Mapping)
        _render_table(sub, (*prefix, _key(key)), lines)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _string(key)


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise SandboxError(f"cannot write {type(value).__name__} {value!r} to config.toml")


def minimal_env(codex_home: Path, home: Path, *, changes: Mapping[str, str | None] | None = None) -> dict[str, str]:
    """The environment codex runs with: PATH, an empty HOME, CODEX_HOME, the dummy key, LANG; ``changes`` set
    (or, with ``None``, remove) variables (e.g. ``FAKE_API_KEY: null`` for the missing-key case)."""
    env = {
        "PATH": DEFAULT_PATH,
        "HOME": str(home),
        "CODEX_HOME": str(codex_home),
        "FAKE_API_KEY": DUMMY_API_KEY,
        "LANG": "C.UTF-8",
    }
    for key, value in (changes or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` safe for a meta file: values of secret-looking names are replaced (the known dummy key is kept,
    it is what the corpus records), and URL userinfo is stripped from every value."""
    out: dict[str, str] = {}
    for key, value in env.items():
        if (is_secret_key(key) or _SECRET_NAME.search(key)) and value != DUMMY_API_KEY:
            out[key] = REDACTED
        else:
            out[key] = redact_text(value)
    return out
