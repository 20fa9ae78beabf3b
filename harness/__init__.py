"""A parity and conformance harness for Codex SDKs.

The package holds a reference Codex SDK (:mod:`harness.reference`), a fault-injecting fake ``codex``
executable (:mod:`harness.fake`), and the scenario/golden/report machinery that compares SDKs with
the real CLI's recorded behaviour.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
