"""Known adapters: id -> how to launch it, how to tell whether its SDK is installed (and which version), and
how to install it.

The four peer SDKs live in their own installs (a venv per Python SDK, an npm folder for TS; see
:mod:`harness.adapters.install` and docs/adapters-peers.md), so detection is delegated to
:func:`harness.adapters.install.find_installed`, which asks that install for the pinned version without
importing the SDK here. Detection never raises: a missing SDK, a missing adapter script or a broken install
is reported as "not installed" with the install command, so ``harness adapters list`` always answers.

The reference adapter needs no install; it runs in-process by default, or as
``python -m harness.adapters.reference_adapter``.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

from harness.adapters import install
from harness.adapters.connection import Connector, in_process_connection, subprocess_connection
from harness.errors import AdapterError

__all__ = [
    "ADAPTERS",
    "ADAPTERS_DIR",
    "AdapterSpec",
    "AdapterStatus",
    "connector_for",
    "get_adapter",
    "list_adapters",
    "status_of",
]

#: The directory holding the adapter scripts (``harness/adapters``).
ADAPTERS_DIR = Path(__file__).resolve().parent

REFERENCE_COMMAND: tuple[str, ...] = (sys.executable, "-m", "harness.adapters.reference_adapter")


@dataclasses.dataclass(frozen=True)
class AdapterSpec:
    """One known adapter: ``script`` is its file; ``package``/``pinned`` the SDK distribution (npm or PyPI) and
    the version :mod:`harness.adapters.install` installs (``None`` for the reference)."""

    id: str
    name: str
    language: str
    script: Path
    package: str | None
    pinned: str | None
    homepage: str | None
    install_hint: str


@dataclasses.dataclass(frozen=True)
class AdapterStatus:
    """What ``harness adapters list`` shows for one adapter."""

    id: str
    name: str
    language: str
    installed: bool
    version: str | None
    #: The command line that starts the adapter (``()`` when not installed).
    command: tuple[str, ...]
    install_hint: str
    #: Why it is not installed (``None`` when it is).
    problem: str | None = None


_HOMEPAGES = {
    "ts": "https://github.com/openai/codex/tree/main/sdk/typescript",
    "openai-agents": "https://github.com/openai/openai-agents-python",
    "codex-sdk-python": "https://github.com/vectorfy-co/codex-sdk-python",
    "openai-codex-sdk": "https://pypi.org/project/openai-codex-sdk/",
    "ai-sdk-codex": "https://github.com/ben-vargas/ai-sdk-provider-codex-cli",
    "openai-codex": "https://github.com/openai/codex/tree/main/sdk/python",
    "codex-python-sdk-unofficial": "https://pypi.org/project/codex-python-sdk-unofficial/",
    "codex-python-sdk": "https://pypi.org/project/codex-python-sdk/",
}


def _peer_spec(peer: install.Peer) -> AdapterSpec:
    return AdapterSpec(
        id=peer.key,
        name=peer.name,
        language=peer.language,
        script=ADAPTERS_DIR / (peer.adapter or peer.script),
        package=peer.package,
        pinned=peer.version,
        homepage=_HOMEPAGES.get(peer.key),
        install_hint=install.install_command(peer.key),
    )


#: Every known adapter, in the order ``harness adapters list`` shows them.
ADAPTERS: tuple[AdapterSpec, ...] = (
    AdapterSpec(
        id="reference",
        name="harness.reference",
        language="python",
        script=ADAPTERS_DIR / "reference_adapter.py",
        package=None,
        pinned=None,
        homepage=None,
        install_hint="part of the harness",
    ),
    *(
        _peer_spec(install.PEERS[key])
        for key in ("openai-agents", "ts", "codex-sdk-python", "openai-codex-sdk", "ai-sdk-codex")
    ),
    # the app-server SDKs: JSON-RPC clients of ``codex app-server``, matrix implementations of app-server scenarios
    *(_peer_spec(peer) for peer in install.APPSERVER_PEERS.values()),
)


def get_adapter(adapter_id: str) -> AdapterSpec:
    """The spec of ``adapter_id``; AdapterError naming the known ids otherwise."""
    for spec in ADAPTERS:
        if spec.id == adapter_id:
            return spec
    known = ", ".join(spec.id for spec in ADAPTERS)
    raise AdapterError(f"unknown adapter {adapter_id!r} (known: {known})")


def status_of(spec: AdapterSpec, *, cache_dir: Path | None = None) -> AdapterStatus:
    """Whether ``spec`` can run here, its SDK version and its command line. Never raises."""
    if spec.package is None:
        from harness import __version__

        return AdapterStatus(spec.id, spec.name, spec.language, True, __version__, REFERENCE_COMMAND, spec.install_hint)

    def missing(problem: str) -> AdapterStatus:
        return AdapterStatus(spec.id, spec.name, spec.language, False, None, (), spec.install_hint, problem)

    if not spec.script.is_file():
        return missing(f"the adapter script {spec.script} is missing")
    try:
        found = install.find_installed(spec.id, cache_dir)
    except Exception as exc:  # noqa: BLE001 - a broken install is "not installed", never a crash
        return missing(f"cannot inspect the install: {type(exc).__name__}: {exc}")
    if found is None:
        return missing(f"{spec.package} {spec.pinned} is not installed")
    command = tuple(found.command)
    if spec.language == "python":  # the venv's interpreter on the matrix adapter (an app-server peer's replay
        command = (command[0], str(spec.script))  # driver is another script of the same venv)
    return AdapterStatus(spec.id, spec.name, spec.language, True, found.sdk_version, command, spec.install_hint)


def list_adapters(*, cache_dir: Path | None = None) -> list[AdapterStatus]:
    """Every known adapter with its status, in registry order (``harness adapters list``)."""
    return [status_of(spec, cache_dir=cache_dir) for spec in ADAPTERS]


def connector_for(adapter_id: str, *, in_process: bool | None = None, cache_dir: Path | None = None) -> Connector:
    """A connector for :class:`~harness.adapters.client.AdapterClient`; AdapterError if the adapter is
    unknown or not installed (with the install command).

    The reference adapter runs in-process by default (fast, no spawn per restart); ``in_process=False``
    runs it as a subprocess, like every other adapter.
    """
    spec = get_adapter(adapter_id)
    status = status_of(spec, cache_dir=cache_dir)
    if not status.installed:
        raise AdapterError(f"adapter {adapter_id!r} is not installed: {status.problem}; run: {spec.install_hint}")
    if spec.package is None and in_process is not False:
        from harness.adapters.reference_adapter import handler

        return functools.partial(in_process_connection, handler())
    return functools.partial(subprocess_connection, status.command)
