"""The real codex in the loop: install + lock, the loopback-only sandbox, the case catalogue and the recorder.

``harness install`` (:mod:`.install`, :mod:`.lock`) caches a registry binary pinned in ``codex.lock``;
:mod:`.sandbox` runs it in a network namespace holding only ``lo``; ``harness record`` (:mod:`.record`,
:mod:`.worker`) plays ``cases/*.yaml`` (:mod:`.catalogue`) against :mod:`harness.fake.responses` and writes
fixtures; ``harness verify`` (:mod:`.verify`) checks that binaries, fixtures, scenarios, goldens and baselines
still agree, and ``harness drift`` (:mod:`.drift`) shows what changed between two recorded versions. See
docs/real-codex.md.
"""

from harness.real.catalogue import Case, CatalogueError, Signal, Turn, load_catalogue, select_cases
from harness.real.drift import (
    Drift,
    DriftError,
    DriftRenderer,
    MarkdownRenderer,
    RichRenderer,
    compare_versions,
    load_version,
)
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
from harness.real.verify import Problem, Tree, VerifyError, VerifyReport, verify_tree

__all__ = [
    "Case",
    "CatalogueError",
    "Drift",
    "DriftError",
    "DriftRenderer",
    "HostIsolation",
    "InstallError",
    "InstallResult",
    "Isolation",
    "LockEntry",
    "LockError",
    "LockFile",
    "MarkdownRenderer",
    "NetnsIsolation",
    "NpmSource",
    "PackageSource",
    "Problem",
    "PypiSource",
    "RecordError",
    "RecordRun",
    "Recording",
    "RichRenderer",
    "SandboxError",
    "Signal",
    "Tree",
    "Turn",
    "VerifyError",
    "VerifyReport",
    "binary_path",
    "compare_versions",
    "ensure_installed",
    "install",
    "load_catalogue",
    "load_version",
    "minimal_env",
    "offline_config",
    "record",
    "require_loopback_only",
    "select_cases",
    "verify_tree",
]
