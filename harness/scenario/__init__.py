"""Scenarios: YAML files describing one SDK interaction against the fake codex, their runner and normalizer.

::

    load_all / load_scenario / validate_paths   scenario files -> Scenario (or ScenarioError with
    file:line:column)
    run_scenario(scenario, workdir=...)         -> raw observation (a JSON-able dict)
    observe(scenario)                           -> normalized observation (run in a temp workdir + normalize)
    golden_document(scenario, observation)      -> the golden: {"meta": ..., "observation": ...}
    compare(golden, observed)                   -> Comparison(agrees, summary, unified_diff)
    check_expectations(scenario, observed)      -> failed ``expect`` entries, as messages

A scenario names its ``transport`` (``exec``, the default, or ``app-server``); ``transport_for(scenario)`` is
the one place that picks the fake and the reference driver (:mod:`harness.scenario.transports`).

The format is ``harness/scenario/schema.json`` and docs/scenarios.md; the rules of :func:`normalize` are in
docs/normalization.md.
"""

from harness.scenario.compare import (
    Comparison,
    canonical_json,
    check_expectations,
    compare,
    unwrap_observation,
)
from harness.scenario.load import find_scenario_files, load_all, load_scenario, schema, validate_paths
from harness.scenario.model import (
    ApprovalsSpec,
    AutoSpec,
    Expectation,
    Mode,
    Scenario,
    ThreadMode,
    ToolSpec,
    TransportName,
    TurnSpec,
)
from harness.scenario.normalize import NormalizationContext, normalize
from harness.scenario.runner import golden_document, observe, run_and_normalize, run_scenario
from harness.scenario.transports import Transport, transport_for

__all__ = [
    "ApprovalsSpec",
    "AutoSpec",
    "Comparison",
    "Expectation",
    "Mode",
    "NormalizationContext",
    "Scenario",
    "ThreadMode",
    "ToolSpec",
    "Transport",
    "TransportName",
    "TurnSpec",
    "canonical_json",
    "check_expectations",
    "compare",
    "find_scenario_files",
    "golden_document",
    "load_all",
    "load_scenario",
    "normalize",
    "observe",
    "run_and_normalize",
    "run_scenario",
    "schema",
    "transport_for",
    "unwrap_observation",
    "validate_paths",
]
