"""Breaks no rule: the control, so a test can tell a rule failure from a broken base."""

import sys

from _base import serve

sys.exit(serve())
