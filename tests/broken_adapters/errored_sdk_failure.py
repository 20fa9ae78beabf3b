"""Breaks ``sdk-error-observed``: an SDK failure (codex exited 1) is reported ``errored`` instead of as an
observation with ``error`` -- the classic mistake of catching every exception as an adapter bug."""

import sys
from typing import Any

from _base import run_reply, serve


def mistaken(message: dict[str, Any]) -> list[Any]:
    reply = run_reply(message)
    error = reply["observation"]["error"]
    if error is not None:
        return [{"seq": message["seq"], "errored": {"message": error["message"]}}]
    return [reply]


sys.exit(serve(run=mistaken))
