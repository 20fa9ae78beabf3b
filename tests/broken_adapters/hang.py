"""Breaks ``run-timely``: answers start, then never answers a run (sleeps until it is killed)."""

import sys
import time
from typing import Any

from _base import serve


def never(message: dict[str, Any]) -> list[Any]:
    time.sleep(3600)
    return []


sys.exit(serve(run=never))
