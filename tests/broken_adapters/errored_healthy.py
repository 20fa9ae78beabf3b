"""Breaks ``run-reply``: a healthy case is answered ``errored`` (the glue fails even when the SDK works)."""

import sys

from _base import serve

sys.exit(serve(run=lambda message: [{"seq": message["seq"], "errored": {"message": "KeyError: 'turns'"}}]))
