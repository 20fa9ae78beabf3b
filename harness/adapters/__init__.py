"""Adapters that drive other Codex SDKs through a JSON-lines protocol."""
