"""Breaks ``restart``: works once, but a second process (after the crash) exits at start without replying.

Usage: ``no_restart.py MARKER`` -- MARKER is a file the first process creates; a process finding it fails.
"""

import os
import sys

from _base import serve

marker = sys.argv[1]
if os.path.exists(marker):
    sys.stderr.write("no_restart: refusing to start twice\n")
    sys.exit(1)
open(marker, "w").close()
sys.exit(serve())
