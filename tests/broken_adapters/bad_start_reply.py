"""Breaks ``start-reply``: the start reply lacks the required ``sdk`` field (start-reply.json)."""

import sys

from _base import IMPLEMENTATION, serve

implementation = {k: v for k, v in IMPLEMENTATION.items() if k != "sdk"}
sys.exit(serve(start=lambda message: [{"implementation": implementation}]))
