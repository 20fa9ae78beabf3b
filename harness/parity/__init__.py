"""The parity matrix across SDKs: scenarios × implementations, compared with the goldens leaf by leaf,
judged against per-implementation findings (docs/baselines.md, docs/cli.md ``harness parity``).

::

    compare    the comparable view (parts, JSON values, portable projection) and per-part comparison
    leaves     every differing leaf at a JSON pointer; pointer patterns
    baseline   baselines/<impl>.yaml (format 2): findings, strict loading, judging, stale detection, proposals
    migrate    format 1 (scenario:part entries) -> format 2
    matrix     drivers (reference in-process, adapters in pools), run_matrix, apply_baselines
"""

from harness.parity.baseline import (
    TODO_REASON,
    Baseline,
    BaselineError,
    Finding,
    Matcher,
    Nondeterministic,
    load_baseline,
    load_baselines,
    propose_findings,
    render_baseline,
    write_baseline,
)
from harness.parity.compare import PartComparison, comparable, compare_parts
from harness.parity.leaves import Change, Leaf, diff_leaves
from harness.parity.matrix import (
    AdapterDriver,
    Driver,
    MatrixRun,
    ReferenceDriver,
    apply_baselines,
    driver_for,
    run_matrix,
)

__all__ = [
    "TODO_REASON",
    "AdapterDriver",
    "Baseline",
    "BaselineError",
    "Change",
    "Driver",
    "Finding",
    "Leaf",
    "Matcher",
    "MatrixRun",
    "Nondeterministic",
    "PartComparison",
    "ReferenceDriver",
    "apply_baselines",
    "comparable",
    "compare_parts",
    "diff_leaves",
    "driver_for",
    "load_baseline",
    "load_baselines",
    "propose_findings",
    "render_baseline",
    "run_matrix",
    "write_baseline",
]
