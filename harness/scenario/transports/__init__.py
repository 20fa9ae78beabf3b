"""One scenario model, two codex interfaces: each transport is one :class:`Transport` implementation.

::

    transport_for(scenario)          -> ExecTransport() | AppServerTransport()   (by ``scenario.transport``)
    t.prepare(scenario, workdir)     -> the fake, built in workdir (fake codex / fake app-server)
    await t.run_reference(...)       -> the reference SDK's turn records against it
    t.fake_side(scenario, prepared)  -> what the fake itself saw (invocations / requests, replies, divergence)
    t.case(scenario, prepared)       -> the portable case an adapter runs
    t.normalize(...)                 -> the normalized observation

The runner, the parity matrix and the pytest plugin only call these, so a third transport is one more class in
:data:`TRANSPORTS`. docs/scenarios.md ("Transports") and docs/adapters.md ("App-server cases").
"""

from __future__ import annotations

from typing import Any

from harness.errors import ScenarioError
from harness.scenario.model import TransportName
from harness.scenario.transports.appserver import APPSERVER_PARTS, AppServerTransport, PreparedAppServer
from harness.scenario.transports.base import Prepared, Transport
from harness.scenario.transports.exec import EXEC_PARTS, ExecTransport, PreparedFake
from harness.scenario.transports.layout import BASE_PATH, Layout

__all__ = [
    "APPSERVER_PARTS",
    "BASE_PATH",
    "EXEC_PARTS",
    "TRANSPORTS",
    "AppServerTransport",
    "ExecTransport",
    "Layout",
    "Prepared",
    "PreparedAppServer",
    "PreparedFake",
    "Transport",
    "transport_for",
]

#: Transport name -> its implementation (stateless, so one instance each).
TRANSPORTS: dict[str, Transport] = {
    TransportName.EXEC: ExecTransport(),
    TransportName.APP_SERVER: AppServerTransport(),
}


def transport_for(scenario: Any) -> Transport:
    """The transport a scenario names (``exec`` for objects without a ``transport``)."""
    name = str(getattr(scenario, "transport", TransportName.EXEC))
    try:
        return TRANSPORTS[name]
    except KeyError:
        raise ScenarioError(f"unknown transport {name!r} (known: {', '.join(sorted(TRANSPORTS))})",
                            path=getattr(scenario, "path", None), field="transport") from None
