"""Installing the peer SDK adapters into a cache folder (docs/adapters-peers.md).

- ``install_ts()`` copies ``ts/adapter.mjs`` and ``ts/package.json`` (pinning ``@openai/codex-sdk`` 0.163.0)
  into ``<cache>/ts/`` and runs ``npm install --omit=optional --no-audit --no-fund`` there: the platform
  package holding the ~400 MB ``codex`` binary is an *optional* dependency of ``@openai/codex`` and is never
  installed (the adapter always passes ``codexPathOverride``, which skips the SDK's binary lookup).
- ``install_python(name)`` creates one virtualenv per SDK, ``<cache>/<name>/venv``, and pip-installs the pinned
  distribution there: the SDKs pull ``openai``/``pydantic``/... versions that must not clash with the
  harness's own dependencies. The adapter scripts use only the standard library besides their SDK, so the
  venv needs nothing else.

Both are idempotent: a second call finds the pinned version installed and only refreshes the adapter files.
``<cache>`` is ``$HARNESS_ADAPTER_CACHE`` or ``~/.cache/codex-parity-harness/adapters``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Mapping
from pathlib import Path

from harness.errors import AdapterError

__all__ = [
    "AI_SDK_PACKAGES",
    "AI_SDK_PROVIDER_VERSION",
    "APPSERVER_PEERS",
    "PEERS",
    "TS_SDK_VERSION",
    "InstalledAdapter",
    "Peer",
    "cache_root",
    "find_installed",
    "install",
    "install_ai_sdk",
    "install_command",
    "install_python",
    "install_ts",
    "list_peers",
]

TS_SDK_VERSION = "0.163.0"
#: The Vercel AI SDK provider (its 1.x line is the AI SDK v6 one, which supports Node >= 18; 2.x needs AI SDK v7
#: and Node >= 22) and its framework, pinned exactly in ``ai-sdk/package.json``.
AI_SDK_PROVIDER_VERSION = "1.4.1"
AI_SDK_PACKAGES: dict[str, str] = {
    "ai-sdk-provider-codex-cli": AI_SDK_PROVIDER_VERSION,
    "ai": "6.0.325",
    "zod": "4.6.7",
}
_HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Peer:
    """One peer SDK the harness knows how to install and drive."""

    key: str  #: what ``harness adapters install KEY`` takes
    name: str  #: the implementation name the adapter reports
    language: str
    package: str  #: npm / PyPI distribution
    version: str  #: the pinned version installed
    script: str  #: the adapter file, relative to ``harness/adapters``
    #: Install the distribution without its dependencies and these requirements instead (``openai-codex``: its
    #: pinned ``openai-codex-cli-bin`` runtime is a platform binary the adapter never runs, like TS's optional
    #: ``@openai/codex`` platform package, since the adapter always passes ``codex_bin``).
    no_deps_requirements: tuple[str, ...] | None = None
    #: The matrix adapter (adapter protocol) when it is not ``script``: an app-server peer's ``script`` is its replay
    #: driver (a session plan on stdin), its ``adapter`` serves ``harness parity`` (docs/adapters-peers.md).
    adapter: str | None = None


PEERS: dict[str, Peer] = {
    "ts": Peer("ts", "@openai/codex-sdk", "javascript", "@openai/codex-sdk", TS_SDK_VERSION, "ts/adapter.mjs"),
    "openai-agents": Peer(
        "openai-agents", "openai-agents", "python", "openai-agents", "0.24.0", "openai_agents_adapter.py"
    ),
    "codex-sdk-python": Peer(
        "codex-sdk-python", "codex-sdk-python", "python", "codex-sdk-python", "0.117.0", "codex_sdk_python_adapter.py"
    ),
    "openai-codex-sdk": Peer(
        "openai-codex-sdk", "openai-codex-sdk", "python", "openai-codex-sdk", "0.1.11", "openai_codex_sdk_adapter.py"
    ),
    "ai-sdk-codex": Peer(
        "ai-sdk-codex",
        "ai-sdk-provider-codex-cli",
        "javascript",
        "ai-sdk-provider-codex-cli",
        AI_SDK_PROVIDER_VERSION,
        "ai-sdk/adapter.mjs",
    ),
}


#: App-server peer SDKs (JSON-RPC clients of ``codex app-server``): replay drivers for
#: ``harness appserver replay --impl KEY`` (:mod:`harness.adapters.appserver_peers`), not exec-matrix adapters, so
#: they live apart from :data:`PEERS`; ``install``/``find_installed`` take both.
APPSERVER_PEERS: dict[str, Peer] = {
    "openai-codex": Peer(
        "openai-codex", "openai-codex", "python", "openai-codex", "0.163.0",
        "appserver_peers/openai_codex_script.py", no_deps_requirements=("pydantic>=2.12", "packaging>=26.2"),
        adapter="appserver_peers/openai_codex_adapter.py",
    ),
    "codex-python-sdk-unofficial": Peer(
        "codex-python-sdk-unofficial", "codex-python-sdk-unofficial", "python", "codex-python-sdk-unofficial",
        "0.128.0", "appserver_peers/unofficial_script.py", adapter="appserver_peers/unofficial_adapter.py",
    ),
    "codex-python-sdk": Peer(
        "codex-python-sdk", "codex-python-sdk", "python", "codex-python-sdk", "0.2.1",
        "appserver_peers/codex_python_sdk_script.py", adapter="appserver_peers/codex_python_sdk_adapter.py",
    ),
}


@dataclasses.dataclass(frozen=True)
class InstalledAdapter:
    """An installed peer adapter: ``command`` starts it (the protocol runs on its stdin/stdout)."""

    key: str
    name: str
    language: str
    sdk_version: str
    command: tuple[str, ...]
    location: Path  #: the cache folder (TS) or the venv (Python)
    seconds: float = 0.0  #: time the install took (0 when it was already installed)


def cache_root(cache_dir: Path | None = None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("HARNESS_ADAPTER_CACHE")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "codex-parity-harness" / "adapters"


def install_command(key: str) -> str:
    """The shell command that installs peer ``key`` (for skip reasons and ``harness adapters list``)."""
    return f"python -m harness.adapters.install {key}"


def _peer(key: str) -> Peer:
    try:
        return PEERS[key] if key in PEERS else APPSERVER_PEERS[key]
    except KeyError:
        known = ", ".join([*PEERS, *APPSERVER_PEERS])
        raise AdapterError(f"unknown peer adapter {key!r} (known: {known})") from None


# ---------------------------------------------------------------------------------------------------- Node
# The Node peers (``ts``: @openai/codex-sdk; ``ai-sdk-codex``: the Vercel AI SDK provider with ``ai`` and ``zod``)
# install the same way: their folder under ``harness/adapters/`` (``adapter.mjs`` + a ``package.json`` pinning exact
# versions) is copied into ``<cache>/<key>/`` and ``npm install --omit=optional`` runs there, so no optional
# ``@openai/codex`` platform binary is ever installed (the adapters always pass the fake's path).


@dataclasses.dataclass(frozen=True)
class _NodePeer:
    key: str
    folder: str  #: below harness/adapters/
    packages: Mapping[str, str]  #: the pinned packages the install must leave, name -> version
    sdk: str  #: the package whose version the adapter reports

    def directory(self, cache_dir: Path | None) -> Path:
        return cache_root(cache_dir) / self.key


_NODE_PEERS: dict[str, _NodePeer] = {
    "ts": _NodePeer("ts", "ts", {"@openai/codex-sdk": TS_SDK_VERSION}, "@openai/codex-sdk"),
    "ai-sdk-codex": _NodePeer("ai-sdk-codex", "ai-sdk", AI_SDK_PACKAGES, "ai-sdk-provider-codex-cli"),
}


def _npm_versions(folder: Path, packages: Mapping[str, str]) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for package in packages:
        try:
            data = json.loads((folder / "node_modules" / package / "package.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            versions[package] = None
            continue
        found = data.get("version") if isinstance(data, dict) else None
        versions[package] = found if isinstance(found, str) else None
    return versions


def _node_adapter(node_peer: _NodePeer, folder: Path, seconds: float = 0.0) -> InstalledAdapter:
    node = shutil.which("node") or "node"
    return InstalledAdapter(
        key=node_peer.key,
        name=PEERS[node_peer.key].name,
        language="javascript",
        sdk_version=node_peer.packages[node_peer.sdk],
        # --expose-gc: the walk_away "drop" probe forces a collection (global.gc) to see what a dropped stream does
        command=(node, "--expose-gc", str(folder / "adapter.mjs")),
        location=folder,
        seconds=seconds,
    )


def _copy_if_changed(source: Path, target: Path) -> bool:
    data = source.read_bytes()
    if target.exists() and target.read_bytes() == data:
        return False
    target.write_bytes(data)
    return True


def _copy_scripts(node_peer: _NodePeer, folder: Path) -> None:
    """The adapter and the protocol module it imports (``./protocol.mjs``, shared by the Node peers)."""
    _copy_if_changed(_HERE / node_peer.folder / "adapter.mjs", folder / "adapter.mjs")
    _copy_if_changed(_HERE / "_node" / "protocol.mjs", folder / "protocol.mjs")


def _install_node(node_peer: _NodePeer, cache_dir: Path | None) -> InstalledAdapter:
    """Install a Node peer into ``<cache>/<key>`` (idempotent) and return how to start it."""
    folder = node_peer.directory(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    source = _HERE / node_peer.folder
    manifest_changed = _copy_if_changed(source / "package.json", folder / "package.json")
    _copy_scripts(node_peer, folder)
    if not manifest_changed and _npm_versions(folder, node_peer.packages) == dict(node_peer.packages):
        return _node_adapter(node_peer, folder)
    npm = shutil.which("npm")
    if npm is None:
        raise AdapterError(
            f"cannot install the {node_peer.key} adapter: npm is not on PATH (install Node.js >= 18 with npm)"
        )
    started = time.monotonic()
    proc = subprocess.run(
        [npm, "install", "--omit=optional", "--no-audit", "--no-fund", "--no-package-lock"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise AdapterError(f"npm install failed in {folder} (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    versions = _npm_versions(folder, node_peer.packages)
    if versions != dict(node_peer.packages):
        raise AdapterError(f"npm install left {versions} in {folder}, expected {dict(node_peer.packages)}")
    return _node_adapter(node_peer, folder, time.monotonic() - started)


def _find_node(node_peer: _NodePeer, cache_dir: Path | None) -> InstalledAdapter | None:
    folder = node_peer.directory(cache_dir)
    if shutil.which("node") is None or _npm_versions(folder, node_peer.packages) != dict(node_peer.packages):
        return None
    source = _HERE / node_peer.folder
    if _digest(folder / "package.json") != _digest(source / "package.json"):
        return None
    _copy_scripts(node_peer, folder)
    return _node_adapter(node_peer, folder)


def install_ts(cache_dir: Path | None = None) -> InstalledAdapter:
    """Install the TS adapter into ``<cache>/ts`` (idempotent) and return how to start it."""
    return _install_node(_NODE_PEERS["ts"], cache_dir)


def install_ai_sdk(cache_dir: Path | None = None) -> InstalledAdapter:
    """Install the AI SDK provider adapter into ``<cache>/ai-sdk-codex`` (idempotent) and return how to start it."""
    return _install_node(_NODE_PEERS["ai-sdk-codex"], cache_dir)


# -------------------------------------------------------------------------------------------------- Python


def _venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


def _python_installed_version(python: Path, distribution: str) -> str | None:
    if not python.exists():
        return None
    proc = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def _python_adapter(peer: Peer, venv_dir: Path, version: str, seconds: float = 0.0) -> InstalledAdapter:
    return InstalledAdapter(
        key=peer.key,
        name=peer.name,
        language="python",
        sdk_version=version,
        command=(str(_venv_python(venv_dir)), str(_HERE / peer.script)),
        location=venv_dir,
        seconds=seconds,
    )


def install_python(name: str, cache_dir: Path | None = None) -> InstalledAdapter:
    """Install Python peer ``name`` (``openai-agents``, ``codex-sdk-python``, ``openai-codex-sdk``, or an
    app-server peer of :data:`APPSERVER_PEERS`) into its own venv ``<cache>/<name>/venv`` at the pinned version
    (idempotent) and return how to start its adapter."""
    peer = _peer(name)
    if peer.language != "python":
        raise AdapterError(f"{name!r} is not a Python peer; use install_ts()")
    venv_dir = cache_root(cache_dir) / name / "venv"
    python = _venv_python(venv_dir)
    if _python_installed_version(python, peer.package) == peer.version:
        return _python_adapter(peer, venv_dir, peer.version)
    started = time.monotonic()
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    commands = [[*pip, f"{peer.package}=={peer.version}"]]
    if peer.no_deps_requirements is not None:
        commands = [[*pip, "--no-deps", f"{peer.package}=={peer.version}"], [*pip, *peer.no_deps_requirements]]
    for command in commands:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise AdapterError(
                f"pip install {' '.join(command[len(pip):])} failed (exit {proc.returncode}): "
                f"{proc.stderr.strip()[-2000:]}"
            )
    version = _python_installed_version(python, peer.package)
    if version != peer.version:
        raise AdapterError(f"{peer.package} {version!r} installed in {venv_dir}, expected {peer.version}")
    return _python_adapter(peer, venv_dir, version, time.monotonic() - started)


# ---------------------------------------------------------------------------------------------- discovery


def install(key: str, cache_dir: Path | None = None) -> InstalledAdapter:
    """Install peer ``key`` (``ts``, ``ai-sdk-codex`` or a Python peer name)."""
    peer = _peer(key)
    if peer.key in _NODE_PEERS:
        return _install_node(_NODE_PEERS[peer.key], cache_dir)
    return install_python(key, cache_dir)


def find_installed(key: str, cache_dir: Path | None = None) -> InstalledAdapter | None:
    """The installed adapter for ``key`` at its pinned version, or ``None``; never installs anything. For TS
    the adapter file in the cache is refreshed from the package when it differs."""
    peer = _peer(key)
    if peer.key in _NODE_PEERS:
        return _find_node(_NODE_PEERS[peer.key], cache_dir)
    venv_dir = cache_root(cache_dir) / key / "venv"
    if _python_installed_version(_venv_python(venv_dir), peer.package) != peer.version:
        return None
    return _python_adapter(peer, venv_dir, peer.version)


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def list_peers(cache_dir: Path | None = None) -> list[tuple[Peer, InstalledAdapter | None]]:
    """Every known peer with its installed adapter (or ``None``), for ``harness adapters list``."""
    return [(peer, find_installed(key, cache_dir)) for key, peer in PEERS.items()]


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.adapters.install [KEY ...|all|all-appserver]``: install peers, print one JSON line
    each (``all``: the exec peers; ``all-appserver``: the app-server peers)."""
    keys = list(sys.argv[1:] if argv is None else argv) or ["all"]
    if keys == ["all"]:
        keys = list(PEERS)
    elif keys == ["all-appserver"]:
        keys = list(APPSERVER_PEERS)
    status = 0
    for key in keys:
        try:
            installed = install(key)
        except AdapterError as exc:
            print(f"{key}: {exc}", file=sys.stderr)
            status = 2
            continue
        print(
            json.dumps(
                {
                    "key": key,
                    "version": installed.sdk_version,
                    "seconds": round(installed.seconds, 1),
                    "command": list(installed.command),
                }
            )
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
