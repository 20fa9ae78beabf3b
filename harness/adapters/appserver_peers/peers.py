"""Which app-server peer SDKs there are, and the replay driver for each (``harness appserver replay --impl ID``).

The peers themselves (distribution, pinned version, adapter script) are
:data:`harness.adapters.install.APPSERVER_PEERS`; this module turns one into a
:class:`~harness.adapters.appserver_peers.driver.PeerScriptDriver` for the fake's timeout. A driver for a peer that
is not installed cannot be made: :class:`PeerNotInstalledError` names the install command (nothing is installed
behind the user's back by a replay).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.adapters import install
from harness.adapters.appserver_peers.driver import PeerScriptDriver
from harness.errors import AdapterError

__all__ = ["PEER_IDS", "PeerNotInstalledError", "VARIANTS", "driver_factory", "peer_driver", "script_path"]

#: Driver variants: ``ID+VARIANT`` -> (installed peer, the script's options). ``+raw`` sends every request through
#: the SDK's raw request call, so a replay gets past the typed methods' first divergence.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "codex-python-sdk-unofficial+raw": ("codex-python-sdk-unofficial", {"raw_requests": True}),
}

#: Every replay driver id (the app-server peers, then their variants), in the order reports list them.
PEER_IDS: tuple[str, ...] = (*install.APPSERVER_PEERS, *VARIANTS)


class PeerNotInstalledError(AdapterError):
    """The peer's venv is missing or holds another version."""


def script_path(peer_id: str) -> Path:
    """The adapter script of ``peer_id`` (inside the harness checkout; it runs in the peer's venv)."""
    return Path(install.__file__).resolve().parent / install.APPSERVER_PEERS[peer_id].script


def peer_driver(peer_id: str, *, timeout: float, defer_timeout: float = 2.0,
                cache_dir: Path | None = None) -> PeerScriptDriver:
    """The driver of installed peer (or variant) ``peer_id``; the script's budget is ``timeout`` seconds."""
    base, options = VARIANTS.get(peer_id, (peer_id, {}))
    if base not in install.APPSERVER_PEERS:
        raise AdapterError(f"unknown app-server peer {peer_id!r} (known: {', '.join(PEER_IDS)})")
    found = install.find_installed(base, cache_dir)
    if found is None:
        peer = install.APPSERVER_PEERS[base]
        raise PeerNotInstalledError(
            f"{peer.package} {peer.version} is not installed; run: {install.install_command(base)}")
    return PeerScriptDriver(peer_id, found.command, timeout=timeout, defer_timeout=defer_timeout, options=options)


def driver_factory(peer_id: str) -> Callable[[float], PeerScriptDriver]:
    """A ``DRIVERS`` entry: the fake waits ``timeout`` s for the client's next message, so the script gets the
    fake's timeout plus a margin for the SDK's start-up and shutdown (the fake reports first)."""

    def factory(timeout: float) -> PeerScriptDriver:
        return peer_driver(peer_id, timeout=timeout + 5.0, defer_timeout=min(2.0, timeout / 2))

    return factory
