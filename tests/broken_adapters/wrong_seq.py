"""Breaks ``seq-echo``: every run reply carries ``seq + 100`` instead of the request's seq."""

import sys

from _base import run_reply, serve

sys.exit(serve(run=lambda message: [{**run_reply(message), "seq": message["seq"] + 100}]))
