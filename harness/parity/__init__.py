"""The parity matrix across SDKs: scenarios × implementations, compared with the goldens, judged against
per-implementation baselines of known divergences (docs/baselines.md, docs/cli.md ``harness parity``).

::

    compare    the comparable view (parts, JSON values, portable projection) and per-part comparison
    baseline   baselines/<impl>.yaml: strict loading, judging (known / unlisted / stale), update, writing
    matrix     drivers (reference in-process, adapters in pools), run_matrix, apply_baselines
"""

from harness.parity.baseline import (
    TODO_REASON,
    Baseline,
    BaselineError,
    Entry,
    load_baseline,
    load_baselines,
    render_baseline,
    update_baseline,
    write_baseline,
)
from harness.parity.compare import PartComparison, comparable, compare_parts
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
    "Driver",
    "Entry",
    "MatrixRun",
    "PartComparison",
    "ReferenceDriver",
    "apply_baselines",
    "comparable",
    "compare_parts",
    "driver_for",
    "load_baseline",
    "load_baselines",
    "render_baseline",
    "run_matrix",
    "update_baseline",
    "write_baseline",
]
