"""Baselines of findings (format 2): leaf differences, matching, judging, stale findings, proposals, validation,
migration from format 1, and the committed peer baselines."""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import pytest

from harness.parity.baseline import (
    TODO_REASON,
    Baseline,
    BaselineError,
    Finding,
    Matcher,
    baseline_parts,
    judge_result,
    load_baseline,
    load_baselines,
    problems,
    propose_findings,
    render_baseline,
)
from harness.parity.leaves import Change, Leaf, diff_leaves, generalize, matches_pattern, split_pointer
from harness.parity.matrix import apply_baselines
from harness.parity.migrate import migrate_text
from harness.report.model import PORTABLE_PARTS, LeafDiff, Result, Status
from harness.scenario import load_all

ROOT = Path(__file__).resolve().parents[1]

GOLDEN: dict[str, Any] = {
    "invocations": [
        {
            "argv": ["exec", "--experimental-json", "--model", "gpt-5.5", "--skip-git-repo-check"],
            "env": {"CODEX_INTERNAL_ORIGINATOR_OVERRIDE": "codex_sdk_ts", "PATH": "/usr/bin"},
        }
    ],
    "error": None,
}

ORIGINATOR = Finding(
    "originator",
    "sets its own originator",
    (Matcher("invocations/*/env/CODEX_INTERNAL_ORIGINATOR_OVERRIDE", Change.CHANGED, observed="codex_sdk_py"),),
)


def _sdk(argv: list[str]) -> dict[str, Any]:
    return {
        "invocations": [
            {"argv": argv, "env": {"CODEX_INTERNAL_ORIGINATOR_OVERRIDE": "codex_sdk_py", "PATH": "/usr/bin"}}
        ],
        "error": None,
    }


def _judge(findings: tuple[Finding, ...], observed: dict[str, Any], scenario: str = "a/b") -> Any:
    leaves = diff_leaves(GOLDEN, observed, ("invocations", "error"))
    return judge_result(Baseline("x", Path("x.yaml"), findings), scenario, leaves, expectations_failed=False)


def test_a_known_originator_does_not_hide_a_new_argv_order() -> None:
    same_order = _judge(
        (ORIGINATOR,), _sdk(["exec", "--experimental-json", "--model", "gpt-5.5", "--skip-git-repo-check"])
    )
    assert same_order.status is Status.KNOWN_DIVERGENCE
    assert [(d.path, d.finding) for d in same_order.leaves] == [
        ("invocations/0/env/CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "originator")
    ]
    # the same SDK now also moves --skip-git-repo-check: the originator finding must not explain that
    reordered = _judge(
        (ORIGINATOR,), _sdk(["exec", "--experimental-json", "--skip-git-repo-check", "--model", "gpt-5.5"])
    )
    assert reordered.status is Status.DIVERGED
    unexplained = [d for d in reordered.leaves if d.finding is None]
    assert unexplained and all(d.path.startswith("invocations/0/argv/") for d in unexplained)
    assert reordered.leaves[0].finding is None, "unexplained leaves come first"
    assert "unexplained" in reordered.summary and unexplained[0].path in reordered.summary


def test_a_finding_that_explains_nothing_is_stale() -> None:
    baseline = Baseline(
        "impl",
        Path("baselines/impl.yaml"),
        (ORIGINATOR, Finding("old-bug", "fixed upstream", (Matcher("error/message"),), line=9, column=3)),
    )
    result = Result(
        "a/b",
        "impl",
        Status.DIVERGED,
        agrees=False,
        compared_parts=PORTABLE_PARTS,
        leaves=(
            LeafDiff("invocations/0/env/CODEX_INTERNAL_ORIGINATOR_OVERRIDE", "changed", "codex_sdk_ts", "codex_sdk_py"),
        ),
    )
    judged, found = apply_baselines([result], {"impl": baseline}, {"a/b"})
    assert judged[0].status is Status.KNOWN_DIVERGENCE and judged[0].explained_by == ("originator",)
    assert [(p.entry, p.location) for p in found] == [("old-bug", "baselines/impl.yaml:9:3")]
    assert "stale" in found[0].message
    # a run that did not compare every scenario of the finding cannot call it stale
    assert problems(baseline, judged, {"a/b", "c/d"}) == []
    skipped = Result("a/b", "impl", Status.SKIPPED)
    assert problems(baseline, [skipped], {"a/b"}) == []


def test_nondeterministic_scenarios_explain_anything_and_are_never_stale() -> None:
    text = 'format: 2\nimplementation: impl\nfindings: {}\nnondeterministic:\n  "a/b":\n    reason: races the exit\n'
    path = Path("impl.yaml")
    baseline = _load(text, path)
    judged = judge_result(
        baseline, "a/b", [Leaf(("error", "kind"), Change.ADDED, None, "unknown")], expectations_failed=False
    )
    assert judged.status is Status.KNOWN_DIVERGENCE and judged.leaves[0].finding == "nondeterministic:a/b"
    assert judge_result(baseline, "a/b", [], expectations_failed=False).status is Status.PASSED
    assert problems(baseline, [], {"a/b"}) == []


def _load(text: str, path: Path, tmp: Path | None = None) -> Baseline:
    import tempfile

    directory = Path(tempfile.mkdtemp()) if tmp is None else tmp
    file = directory / path.name
    file.write_text(text, encoding="utf-8")
    return load_baseline(file, implementation=path.stem, parts=PORTABLE_PARTS)


def test_leaf_diff_aligns_lists_and_expands_errors() -> None:
    leaves = diff_leaves(
        {
            "invocations": [{"argv": ["exec", "resume", "<thread:1>"]}],
            "error": None,
            "events": [{"usage": {"a": 1, "b": 2}}],
        },
        {
            "invocations": [{"argv": ["exec", "resume", "--", "<thread:1>", "-"]}],
            "error": {"kind": "exit"},
            "events": [{"usage": {"a": 1}}],
        },
        ("invocations", "events", "error"),
    )
    assert [(leaf.pointer, leaf.change.value) for leaf in leaves] == [
        ("invocations/0/argv/2", "added"),
        ("invocations/0/argv/4", "added"),
        ("events/0/usage/b", "removed"),
        ("error/kind", "added"),
    ]
    assert generalize(leaves[0].path) == "invocations/*/argv/*"
    assert Leaf.from_dict(leaves[0].to_dict()) == leaves[0]


@pytest.mark.parametrize(
    ("pattern", "path", "hit"),
    [
        ("**/usage/x", ("events", 3, "usage", "x"), True),
        ("**/usage/x", ("earlier_turns", 0, "result", "usage", "x"), True),
        ("result/**", ("result",), True),
        ("result/**", ("resultx", "a"), False),
        ("invocations/*/argv/*", ("invocations", 0, "argv", 5), True),
        ("invocations/*/argv", ("invocations", 0, "argv", 5), False),
        ("events/*/item/payload~1x", ("events", 1, "item", "payload/x"), True),
        ("error/mess*", ("error", "message"), True),
    ],
)
def test_pointer_patterns(pattern: str, path: tuple[Any, ...], hit: bool) -> None:
    assert matches_pattern(split_pointer(pattern), path) is hit


def test_matcher_values_and_regexes() -> None:
    leaf = Leaf(("error", "message"), Change.CHANGED, "Codex Exec exited with code 1: ", "Codex CLI exited with code 1")
    assert Matcher("error/message", expected_matches="^Codex Exec", observed_matches="^Codex CLI").matches(leaf)
    assert not Matcher("error/message", observed_matches="^Codex Exec").matches(leaf)
    assert not Matcher("error/message", change=Change.ADDED).matches(leaf)
    removed = Leaf(("result", "usage"), Change.REMOVED, None, None)
    assert not Matcher("result/usage", observed=None).matches(removed), "a removed leaf has no observed value"
    assert Matcher("result/**", change=Change.REMOVED).matches(removed)


def test_propose_groups_leaves_and_keeps_existing_findings() -> None:
    existing = Baseline("impl", Path("impl.yaml"), (ORIGINATOR,))
    results = [
        Result(
            sid,
            "impl",
            Status.DIVERGED,
            agrees=False,
            leaves=(
                LeafDiff("invocations/0/argv/3", "added", None, "-"),
                LeafDiff(f"invocations/0/argv/{n}", "added", None, "-"),
                LeafDiff(
                    "invocations/0/env/CODEX_INTERNAL_ORIGINATOR_OVERRIDE",
                    "changed",
                    "codex_sdk_ts",
                    "codex_sdk_py",
                    finding="originator",
                ),
            ),
        )
        for sid, n in (("a/one", 4), ("a/two", 5))
    ]
    proposed = propose_findings(existing, results)
    assert proposed.findings[0] is ORIGINATOR
    new = proposed.findings[1:]
    assert [(f.name, f.reason, f.scenarios) for f in new] == [
        ("invocations-argv-added", TODO_REASON, ("a/one", "a/two"))
    ]
    assert new[0].match[0].to_dict() == {"path": "invocations/*/argv/*", "change": "added", "observed": "-"}
    again = _load(render_baseline(proposed), Path("impl.yaml"))
    assert [f.name for f in again.findings] == ["originator", "invocations-argv-added"]


H = "format: 2\nimplementation: impl\nfindings:\n  f:\n    reason: r\n"


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("implementation: impl\ndivergences: {}\n", "2:1", "harness baseline migrate"),
        ("format: 2\nimplementation: other\n", "2:17", "baseline of 'impl'"),
        (
            "format: 2\nimplementation: impl\nfindings:\n  Bad Name:\n    reason: r\n    match: [{path: error}]\n",
            "4:3",
            "not a finding name",
        ),
        ("format: 2\nimplementation: impl\nfindings:\n  f:\n    match: [{path: error}]\n", "4:3", "missing 'reason'"),
        ("format: 2\nimplementation: impl\nfindings:\n  f:\n    reason: r\n", "4:3", "missing 'match'"),
        (
            "format: 2\nimplementation: impl\nfindings:\n  f:\n    reason: r\n    match: [{path: logs/x}]\n",
            "6:13",
            "names no compared part",
        ),
        (
            H + "    match: [{path: error, change: gone}]\n",
            "6:35",
            "changed, added, removed",
        ),
        (
            H + "    match: [{path: error, observed_matches: '('}]\n",
            "6:45",
            "not a regular expression",
        ),
        (
            H + "    issue: nope\n    match: [{path: error}]\n",
            "6:12",
            "http(s) URL",
        ),
        (
            H + "    match: [{path: error, colour: red}]\n",
            "6:27",
            "unknown key 'colour'",
        ),
        ('format: 2\nimplementation: impl\nnondeterministic:\n  "a/b": {}\n', "4:3", "missing 'reason'"),
        (
            "format: 2\nimplementation: impl\nfindings:\n  f: {reason: r, match: [{path: error}]}\n  f: {}\n",
            "5:3",
            "duplicate key 'f'",
        ),
        ("format: 2\nimplementation: impl\nfindings: [\n", "4:1", "invalid YAML"),
    ],
)
def test_invalid_files_are_located(tmp_path: Path, text: str, where: str, message: str) -> None:
    with pytest.raises(BaselineError) as info:
        _load(text, Path("impl.yaml"), tmp_path)
    assert f"impl.yaml:{where}:" in str(info.value) and message in str(info.value), str(info.value)


def test_migration_keeps_the_meaning_of_format_1(tmp_path: Path) -> None:
    old = (
        "implementation: impl\ndivergences:\n"
        '  "a/one:invocations":\n    reason: "passes -"\n'
        '  "a/two:invocations":\n    reason: "passes -"\n'
        '  "a/two:error":\n    reason: "exit text"\n    issue: "https://example.test/1"\n'
        '  "a/racy":\n    reason: "races"\n'
    )
    migrated = migrate_text(old, path=tmp_path / "impl.yaml")
    assert [(f.reason, f.scenarios, [m.path for m in f.match], f.issue) for f in migrated.findings] == [
        ("passes -", ("a/one", "a/two"), ["invocations/**"], None),
        ("exit text", ("a/two",), ["error/**"], "https://example.test/1"),
    ]
    assert [(n.scenario, n.reason) for n in migrated.nondeterministic] == [("a/racy", "races")]
    reloaded = _load(render_baseline(migrated), Path("impl.yaml"), tmp_path)
    assert reloaded.findings == tuple(
        Finding(f.name, f.reason, f.match, f.issue, f.scenarios, g.line, g.column)
        for f, g in zip(migrated.findings, reloaded.findings, strict=True)
    )


def test_committed_baselines_are_findings_with_reasons() -> None:
    ids = {s.id for s in load_all(ROOT / "scenarios")}
    from harness.adapters.registry import ADAPTERS

    parts = {spec.id: baseline_parts(spec.id) for spec in ADAPTERS}
    assert len(parts) >= 9, "the reference and eight peers"
    baselines = load_baselines(ROOT / "baselines", parts)
    for baseline in baselines.values():
        assert len(baseline.findings) <= 20, f"{baseline.path}: {len(baseline.findings)} findings"
        for finding in baseline.findings:
            where = baseline.location(finding.line, finding.column)
            assert finding.reason != TODO_REASON and "TODO" not in finding.reason, f"{where}: {finding.name}"
            assert any(fnmatch.fnmatchcase(s, g) for s in ids for g in finding.scenarios), where
        for escape in baseline.nondeterministic:
            assert escape.scenario in ids
        if baseline.path.exists():
            assert render_baseline(baseline) == baseline.path.read_text(), f"{baseline.path} is not canonical"
