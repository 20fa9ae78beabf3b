"""Breaks ``stop-clean``: answers stop with ``{"ok": true}`` but then exits with status 3."""

import sys

from _base import serve

sys.exit(serve(stop_exit=3))
