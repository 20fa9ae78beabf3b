"""Root conftest: kept thin on purpose; the scenario plugin is registered through the pytest11 entry point.

``--doctest-modules`` (pyproject.toml) imports every module under the test paths; these cannot be imported in the
harness's own venv, so they are not collected: the peer adapter scripts import their SDK and a script sibling
(``import _common``) and run inside the peer's venv, and the fauxdapters, the broken and leaky adapters and the MCP
servers are scripts the tests start (importing one would read the test runner's stdin).
"""

collect_ignore_glob = [
    "harness/adapters/*_adapter.py",
    "harness/adapters/appserver_peers/*",
    "tests/broken_adapters/*",
    "tests/fauxdapters/*",
    "tests/leaky_adapters/*",
    "tests/mcp_servers/*",
]
