"""App-server peer SDKs: third-party and official JSON-RPC clients of ``codex app-server``, replayed against the
fake app-server (docs/adapters-peers.md, "App-server peers").

Each SDK runs in its own venv (:data:`harness.adapters.install.APPSERVER_PEERS`) through one adapter script here
(``*_script.py``: stdlib + that SDK only, sharing ``_session.py``); the host side builds the session plan from a
recording (:mod:`.plan`) and drives the script (:mod:`.driver`), which makes each SDK one more
:class:`~harness.fake.appserver.driver.Driver` for ``harness appserver replay --impl ID``.
"""

from harness.adapters.appserver_peers.driver import PeerScriptDriver, outcome_from_line
from harness.adapters.appserver_peers.peers import (
    PEER_IDS,
    VARIANTS,
    PeerNotInstalledError,
    driver_factory,
    peer_driver,
    script_path,
)
from harness.adapters.appserver_peers.plan import PLAN_VERSION, server_key, session_plan

__all__ = [
    "PEER_IDS",
    "PLAN_VERSION",
    "PeerNotInstalledError",
    "PeerScriptDriver",
    "VARIANTS",
    "driver_factory",
    "outcome_from_line",
    "peer_driver",
    "script_path",
    "server_key",
    "session_plan",
]
