"""Breaks ``stdout-clean``: prints a banner (not JSON) on stdout before its first reply, e.g. a stray print."""

import sys

from _base import serve

sys.exit(serve(banner="my-sdk adapter v0 ready (token sk-proj-ABCDEFGHIJKLMNOPQRSTUVWX)"))
