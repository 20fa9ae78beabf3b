"""Known adapters: id -> how to launch it, how to tell whether its SDK is installed (and which version), and
how to install it.

The four peer SDKs live in their own installs (a venv per Python SDK, an npm folder for TS; see
:mod:`harness.adapters.install` and docs/adapters-peers.md), so detection is delegated to
:func:`harness.adapters.install.find_installed`, which asks that install for the pinned version without
importing the SDK here. Detection never raises: a missing SDK, a missing adapter script or a broken install
is reported as "not installed" with the install command, so ``harness adapters list`` always answers.

The reference adapter needs no install; it runs in-process by default, or as
``python -m harness.adapters.reference_adapter``.

Beside the built-ins, a run can name *ad-hoc* adapters (:class:`AdhocAdapter`): any command that speaks the
adapter protocol (docs/adapters.md), given as ``harness parity --adapter ID=COMMAND`` or in ``codex-parity.toml``.
That is how an SDK outside this repository joins the matrix without a spec here; its id must be a slug (it names
``<baselines>/<ID>.yaml`` and report columns) and must not be a built-in id, so a finding can never be read
against the wrong SDK.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import re
import shlex
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from harness.adapters import install
from harness.adapters.connection import (
    ConnectionLost,
    Connector,
    SubprocessConnection,
    in_process_connection,
    subprocess_connection,
)
from harness.errors import AdapterError
from harness.redact import redact_text

__all__ = [
    "ADAPTERS",
    "ADAPTERS_DIR",
    "RESERVED_IDS",
    "AdapterSpec",
    "AdapterStatus",
    "AdhocAdapter",
    "AdhocAdapterError",
    "adhoc_adapter",
    "adhoc_id_problem",
    "connector_for",
    "get_adapter",
    "list_adapters",
    "parse_adapter_option",
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


# ------------------------------------------------------------------------------------------ ad-hoc adapters

#: Ids no adapter may take: ``all`` means every built-in in ``--impl``.
RESERVED_IDS = frozenset({"all"})

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?")


class AdhocAdapterError(AdapterError):
    """An ad-hoc adapter that cannot be declared (a bad id, an id clash, an empty command): exit status 2."""


@dataclasses.dataclass(frozen=True)
class AdhocAdapter:
    """An adapter known only to this run: ``command`` is its argv (spawned like any adapter: own process group,
    JSON lines on stdio), ``cwd`` its working directory (``None``: the harness's), ``source`` where it was declared
    (``--adapter`` or a configuration file), for messages."""

    id: str
    command: tuple[str, ...]
    cwd: Path | None = None
    source: str = "--adapter"

    def connector(self) -> Connector:
        """A connector for :class:`~harness.adapters.client.AdapterClient`. A command that cannot be spawned fails
        when the client starts (``ConnectionLost`` -> AdapterError), so the matrix reports it as data."""
        return functools.partial(_spawn_redacted, self.command, self.cwd)


@contextlib.asynccontextmanager
async def _spawn_redacted(argv: Sequence[str], cwd: Path | None) -> AsyncIterator[SubprocessConnection]:
    """:func:`subprocess_connection`, except that a spawn failure's message -- which quotes the argv -- is redacted:
    a user's command line may carry a token (``env OPENAI_API_KEY=... ./adapter``), and that message reaches the
    console and the report."""
    spawned = False
    try:
        async with subprocess_connection(argv, cwd=cwd) as connection:
            spawned = True
            yield connection
    except ConnectionLost as exc:
        if spawned:
            raise
        raise ConnectionLost(redact_text(exc.message), stderr=exc.stderr, returncode=exc.returncode) from None


def adhoc_id_problem(adapter_id: str) -> str | None:
    """Why ``adapter_id`` cannot name an ad-hoc adapter, or ``None`` if it can."""
    if not _SLUG.fullmatch(adapter_id):
        return (
            f"{adapter_id!r} is not a valid adapter id (a slug: lower-case letters, digits, '.', '_', '-', "
            "starting and ending with a letter or digit, at most 64 characters)"
        )
    if adapter_id in RESERVED_IDS:
        return f"{adapter_id!r} is reserved (--impl all means every built-in adapter)"
    if any(spec.id == adapter_id for spec in ADAPTERS):
        known = ", ".join(spec.id for spec in ADAPTERS)
        return f"{adapter_id!r} is a built-in adapter id; choose another id for your adapter (built-in: {known})"
    return None


def adhoc_adapter(
    adapter_id: str, command: Sequence[str], *, cwd: Path | None = None, source: str = "--adapter"
) -> AdhocAdapter:
    """A validated :class:`AdhocAdapter`; AdhocAdapterError (one line, naming ``source``) otherwise."""
    problem = adhoc_id_problem(adapter_id)
    if problem is None and (not command or not command[0]):
        problem = f"adapter {adapter_id!r} has an empty command"
    if problem is not None:
        raise AdhocAdapterError(f"{source}: {problem}")
    return AdhocAdapter(adapter_id, tuple(command), cwd, source)


def parse_adapter_option(value: str) -> AdhocAdapter:
    """``--adapter ID=COMMAND``: COMMAND is split like a shell would (:func:`shlex.split`), never run by one.

    >>> parse_adapter_option("mine=node 'my adapter.mjs' --quiet").command
    ('node', 'my adapter.mjs', '--quiet')
    """
    source = f"--adapter {value!r}"
    adapter_id, sep, command = value.partition("=")
    if not sep:
        raise AdhocAdapterError(f"{source}: expected ID=COMMAND (e.g. mine='node adapter.mjs')")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AdhocAdapterError(f"{source}: cannot split the command: {exc}") from None
    return adhoc_adapter(adapter_id.strip(), argv, source=source)
