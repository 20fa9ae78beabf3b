"""The reference Codex SDK: typed events, exec transport, threads and turns."""
