"""Usage aggregation rules (see harness/reference/usage.py): cumulative, per-turn deltas, no double counting."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from harness.reference.usage import TokenCounts, UsageLedger

ROOT = Path(__file__).resolve().parents[1]

counts = st.builds(
    TokenCounts,
    *(st.integers(min_value=0, max_value=10**9) for _ in range(5)),
)


def _usage_of(path: Path) -> dict[str, int]:
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["type"] == "turn.completed":
            return dict(event["usage"])
    raise AssertionError(f"{path} has no turn.completed")


def test_real_resume_transcripts_report_cumulative_usage_and_the_ledger_recovers_per_turn() -> None:
    for version in ("0.163.0", "0.169.0"):
        first = TokenCounts.from_usage(_usage_of(ROOT / f"fixtures/real/{version}/resume_turn1.jsonl"))
        second = TokenCounts.from_usage(_usage_of(ROOT / f"fixtures/real/{version}/resume_turn2.jsonl"))
        ledger = UsageLedger()
        turn1 = ledger.record_cumulative("t", first)
        turn2 = ledger.record_cumulative("t", second)
        assert turn1.turn == first
        assert turn2.turn == second - first
        assert turn2.turn.input_tokens == first.input_tokens  # two equal 10/5 turns
        assert ledger.cumulative("t") == second
        assert ledger.total() == second  # not first + second


@given(st.lists(counts, min_size=1, max_size=8))
def test_per_turn_deltas_sum_to_the_last_cumulative_value(deltas: list[TokenCounts]) -> None:
    ledger = UsageLedger()
    cumulative = TokenCounts()
    for delta in deltas:
        cumulative = cumulative + delta
        assert ledger.record_cumulative("t", cumulative).turn == delta
    assert ledger.consumed() == cumulative
    assert ledger.total() == cumulative


@given(st.lists(counts, min_size=1, max_size=6), st.integers(min_value=1, max_value=4))
def test_repeated_reports_of_the_same_cumulative_value_count_once(
    deltas: list[TokenCounts], repeats: int
) -> None:
    ledger = UsageLedger()
    cumulative = TokenCounts()
    for delta in deltas:
        cumulative = cumulative + delta
        for _ in range(repeats):  # a retried attempt / replayed event reports the same total again
            ledger.record_cumulative("t", cumulative)
    assert ledger.total() == cumulative
    assert ledger.consumed() == cumulative


@given(counts, counts)
def test_a_counter_that_goes_down_is_a_reset_and_counts_in_full(
    first: TokenCounts, second: TokenCounts
) -> None:
    ledger = UsageLedger()
    ledger.record_cumulative("t", first)
    entry = ledger.record_cumulative("t", second)
    if second.dominates(first):
        assert not entry.reset and entry.turn == second - first
    else:
        assert entry.reset and entry.turn == second
    assert ledger.cumulative("t") == second


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), counts, min_size=1))
def test_threads_are_counted_independently(per_thread: dict[str, TokenCounts]) -> None:
    ledger = UsageLedger()
    for thread_id, value in per_thread.items():
        ledger.record_cumulative(thread_id, value)
        ledger.record_last_call(thread_id, value)  # informational only
    expected = TokenCounts()
    for value in per_thread.values():
        expected = expected + value
    assert ledger.total() == expected


def test_from_usage_accepts_older_shapes_and_camel_case() -> None:
    assert TokenCounts.from_usage(
        {"input_tokens": 3, "cached_input_tokens": 1, "output_tokens": 2}
    ) == TokenCounts(3, 1, 0, 2, 0)
    assert TokenCounts.from_usage({"inputTokens": 4, "reasoningOutputTokens": 1}).reasoning_output_tokens == 1
    assert TokenCounts.from_usage(None) == TokenCounts()
    assert TokenCounts(1, 0, 0, 2, 0).total_tokens == 3
