"""Breaks ``one-reply``: each run is answered twice (a second, valid JSON reply line follows the first)."""

import sys
from typing import Any

from _base import run_reply, serve


def twice(message: dict[str, Any]) -> list[Any]:
    reply = run_reply(message)
    return [reply, reply]


sys.exit(serve(run=twice))
