"""The real codex in the loop: install + lock, the loopback-only sandbox, the case catalogue and the recorder.

``harness install`` (:mod:`.install`, :mod:`.lock`) caches a registry binary pinned in ``codex.lock``;
:mod:`.sandbox` runs it in a network namespace holding only ``lo``; ``harness record`` (:mod:`.record`,
:mod:`.worker`) plays ``cases/*.yaml`` (:mod:`.catalogue`) against :mod:`harness.fake.responses` and writes
fixtures. See docs/real-codex.md.
"""

from harness.real.catalogue import Case, CatalogueError, Signal, Turn, load_catalogue, select_cases
from harness.real.install import (
    InstallError,
    InstallResult,
    NpmSource,
    PackageSource,
    PypiSource,
    binary_path,
    ensure_installed,
    install,
)
from harness.real.lock import LockEntry, LockError, LockFile
from harness.real.record import RecordError, Recording, RecordRun, record
from harness.real.sandbox import (
    HostIsolation,
    Isolation,
    NetnsIsolation,
    SandboxError,
    minimal_env,
    offline_config,
    require_loopback_only,
)

__all__ = [
    "Case",
    "CatalogueError",
    "HostIsolation",
    "InstallError",
    "InstallResult",
    "Isolation",
    "LockEntry",
    "LockError",
    "LockFile",
    "NetnsIsolation",
    "NpmSource",
    "PackageSource",
    "PypiSource",
    "RecordError",
    "RecordRun",
    "Recording",
    "SandboxError",
    "Signal",
    "Turn",
    "binary_path",
    "ensure_installed",
    "install",
    "load_catalogue",
    "minimal_env",
    "offline_config",
    "record",
    "require_loopback_only",
    "select_cases",
]
