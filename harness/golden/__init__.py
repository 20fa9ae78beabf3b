"""Goldens: one canonical JSON document per scenario (``golden/<area>/<name>.json``).

:mod:`harness.golden.store` is the plain API (the CLI uses it); :mod:`harness.golden.extension` is the syrupy
extension the pytest plugin compares and refreshes goldens through. The extension is not imported here so that
importing the store does not import syrupy.
"""

from harness.golden.store import (
    GOLDEN_SUFFIX,
    delete_golden,
    golden_path,
    list_goldens,
    read_golden,
    render_golden,
    unused_goldens,
    write_golden,
    write_text_atomic,
)

__all__ = [
    "GOLDEN_SUFFIX",
    "delete_golden",
    "golden_path",
    "list_goldens",
    "read_golden",
    "render_golden",
    "unused_goldens",
    "write_golden",
    "write_text_atomic",
]
