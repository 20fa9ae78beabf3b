"""Examples that run: the README's Python blocks and the shell commands of ``docs/``, so an example that stops
working fails CI.

**README Python blocks** (```` ```python ````) each run as a script in a subprocess, in an empty temporary
directory, with this interpreter. Two conventions, both visible in the README itself:

- the placeholder path ``/path/to/codex`` ("point it at your codex") is replaced by a fake codex built with
  ``harness fake-codex build`` from a plan that replays a real transcript (:data:`PLACEHOLDERS`);
- a block that reads ``sys.stdin`` (the minimal adapter) is fed the adapter protocol's ``start`` and ``stop``
  messages (:data:`ADAPTER_CONVERSATION`), and its replies must match the protocol's JSON Schemas.

**Shell commands of docs/** (```` ```bash ```` blocks, one command per line, ``\\`` continuations joined) each run
with ``bash -c`` in a temporary copy of the project, with the venv's ``harness`` first on ``PATH``, and must exit 0.
A command is not run only when it says so or is listed in :data:`NOT_RUN`, always with a reason (network, the real
codex, an interactive prompt, a synopsis rather than a command). In the docs, a line may carry the marker
``# doc-test: skip (<reason>)``; the list here is for lines that cannot be changed for the purpose.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.adapters.protocol import schema_errors

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
FIXTURE = ROOT / "fixtures" / "real" / "0.169.0" / "agent_message.jsonl"

_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*$")
_SKIP_MARK = re.compile(r"#\s*doc-test:\s*skip\s*\((?P<reason>[^)]+)\)")

#: The adapter protocol conversation given to a README block that reads stdin, and the schema of each reply.
ADAPTER_CONVERSATION: tuple[tuple[dict[str, object], str], ...] = (
    ({"cmd": "start", "version": 1}, "start-reply"),
    ({"cmd": "stop"}, "stop-reply"),
)

#: Shell commands of docs/ that are not run, by their text (the part before a trailing comment), and why.
NOT_RUN: Mapping[str, str] = {
    "harness install --cli 0.172.0": "network: downloads the real codex from npm",
    "harness install --cli 0.163.0 --source pypi": "network: downloads the real codex from PyPI",
    "harness install": "network: downloads the real codex",
    "harness record --all --cli 0.172.0 --out /tmp/rec": "runs the real codex (installed first, in a netns)",
    "harness record --all --cli 0.172.0": "runs the real codex (installed first, in a netns)",
    "harness lint --json /tmp/rec": "lints the recording made by the line before it",
    "harness lint /tmp/rec": "lints the recording made by the line before it",
    "harness drift 0.171.0 0.172.0 --out reports/drift-0.171.0-0.172.0.md": "needs a recording of 0.172.0",
    "harness golden refresh --review": "interactive: asks accept / reject / skip per diff",
    "harness parity --impl all --update-baseline": "network: needs every peer SDK installed",
    "harness verify [--root DIR] [--json] [--require-binaries]": "a synopsis, not a command",
    "harness install --cli 0.171.0 && harness verify --require-binaries": "network: downloads the real codex",
    "python -m harness.adapters.install all-appserver": "network: installs the app-server peer SDKs from PyPI",
    "harness appserver replay /work/shared/corpus/appserver --impl openai-codex": (
        "the shared corpus lives outside the repository, and the peer SDK is installed from the network"
    ),
    "harness appserver replay … --impl codex-python-sdk-unofficial | codex-python-sdk-unofficial+raw | "
    "codex-python-sdk": "a synopsis (one of three --impl values), not a command",
    "harness appserver replay /work/shared/corpus/appserver --impl reference": (
        "the shared corpus lives outside the repository"
    ),
    "harness appserver replay fixtures/appserver fixtures/synthetic/appserver --impl scripted --json --timeout 5": (
        "slow (about 20 s here); tests/test_fake_appserver_corpus.py replays the same recordings"
    ),
}

#: Placeholders of the README's Python blocks and what stands in for them (filled in by the fixture).
PLACEHOLDERS = ("/path/to/codex",)


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block: where it starts (the line after the fence, 1-based), its language and text."""

    path: Path
    line: int
    lang: str
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"


@dataclass(frozen=True, slots=True)
class Command:
    """One shell command of a bash block, with the line it starts on and its text without a trailing comment."""

    block: Block
    line: int
    text: str
    source: str

    @property
    def where(self) -> str:
        return f"{self.block.path.name}:{self.line}"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What running one example gave: the exit status and its combined output (for the failure message)."""

    where: str
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def extract_blocks(path: Path, lang: str) -> list[Block]:
    """The fenced blocks of ``path`` in language ``lang`` (indented fences, as in a list, included)."""
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        opened = _FENCE.match(lines[i])
        if opened is None:
            i += 1
            continue
        indent = opened["indent"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[j]):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        if opened["lang"] == lang:
            blocks.append(Block(path, i + 2, lang, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def _strip_comment(line: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` inside quotes or a word is kept)."""
    quote = ""
    for k, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].rstrip()
    return line.rstrip()


def shell_commands(block: Block) -> list[Command]:
    """The commands of a bash block, one per line (``\\`` continuations joined); comments and blanks dropped."""
    commands: list[Command] = []
    pending: list[str] = []
    start = 0
    for offset, raw in enumerate(block.text.split("\n")):
        if not pending:
            start = block.line + offset
        pending.append(raw)
        if raw.rstrip().endswith("\\"):
            continue
        source = "\n".join(pending)
        pending = []
        text = _strip_comment(" ".join(part.rstrip().removesuffix("\\").strip() for part in source.split("\n")))
        if text:
            commands.append(Command(block, start, text, source))
    return commands


def not_run_reason(command: Command) -> str | None:
    """Why ``command`` is not run (its ``doc-test: skip`` marker or :data:`NOT_RUN`), ``None`` when it is."""
    marked = _SKIP_MARK.search(command.source)
    return marked["reason"] if marked else NOT_RUN.get(command.text)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("HARNESS_FAKE_PLAN", None)
    return env


def run_shell(command: Command, project: Path, *, timeout: float = 120) -> Outcome:
    """Run one docs command with ``bash -c`` in ``project`` (a copy of the tree)."""
    done = subprocess.run(
        ["bash", "-c", command.text], cwd=project, env=_env(), capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    return Outcome(command.where, done.returncode, done.stdout + done.stderr)


def run_python_blocks(readme: Path, workdir: Path, substitutions: Mapping[str, str]) -> list[Outcome]:
    """Run every Python block of ``readme`` as a script in ``workdir`` (placeholders substituted); a block that
    reads stdin gets :data:`ADAPTER_CONVERSATION`, and each of its reply lines must match its schema."""
    outcomes: list[Outcome] = []
    for block in extract_blocks(readme, "python"):
        text = block.text
        for placeholder, value in substitutions.items():
            text = text.replace(placeholder, value)
        script = workdir / f"readme_block_{block.line}.py"
        script.write_text(text, encoding="utf-8")
        conversation = "sys.stdin" in text
        stdin = "".join(json.dumps(msg) + "\n" for msg, _ in ADAPTER_CONVERSATION) if conversation else ""
        done = subprocess.run(
            [sys.executable, str(script)], cwd=workdir, env=_env(), input=stdin, capture_output=True, text=True,
            timeout=60, check=False,
        )
        returncode, output = done.returncode, done.stdout + done.stderr
        if conversation and returncode == 0:
            problems = _conversation_problems(done.stdout)
            if problems:
                returncode, output = 1, output + "\n".join(problems)
        outcomes.append(Outcome(block.where, returncode, output))
    return outcomes


def _conversation_problems(stdout: str) -> list[str]:
    replies = [line for line in stdout.split("\n") if line.strip()]
    if len(replies) != len(ADAPTER_CONVERSATION):
        return [f"expected {len(ADAPTER_CONVERSATION)} reply lines, got {len(replies)}"]
    problems: list[str] = []
    for line, (_msg, schema) in zip(replies, ADAPTER_CONVERSATION, strict=True):
        try:
            problems += [f"{schema}: {e}" for e in schema_errors(schema, json.loads(line))]  # type: ignore[arg-type]
        except json.JSONDecodeError as exc:
            problems.append(f"{schema}: not JSON: {exc}")
    return problems


def _failures(outcomes: list[Outcome]) -> str:
    return "\n\n".join(f"{o.where}: exit {o.returncode}\n{o.output[-2000:]}" for o in outcomes if not o.ok)


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_codex(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fake codex (``harness fake-codex build``) that replays a real transcript: what ``/path/to/codex`` means.

    One per test: the fake's plan has one step per invocation, and the README example invokes it once."""
    folder = tmp_path_factory.mktemp("fake")
    plan = folder / "plan.yaml"
    plan.write_text(f"steps:\n  - replay: {json.dumps(str(FIXTURE))}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "harness", "fake-codex", "build", str(plan), "-o", str(folder / "bin")],
        env=_env(), capture_output=True, text=True, timeout=60, check=True,
    )
    return Path(done.stdout.strip())


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project tree without its venv, caches and reports: docs commands may write into it."""
    dest = tmp_path_factory.mktemp("project") / "tree"
    ignore = shutil.ignore_patterns(
        ".venv", ".git", ".tox", ".mypy_cache", ".hypothesis", ".pytest_cache", ".ruff_cache", "__pycache__", "reports"
    )
    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    return dest


def _substitutions(fake_codex: Path) -> dict[str, str]:
    return {"/path/to/codex": str(fake_codex)}


DOC_COMMANDS = [
    c for path in sorted(DOCS.glob("*.md")) for b in extract_blocks(path, "bash") for c in shell_commands(b)
]
TO_RUN = [c for c in DOC_COMMANDS if not_run_reason(c) is None]


# ---------------------------------------------------------------------------------------------------- tests


def test_readme_python_blocks_run(tmp_path: Path, fake_codex: Path) -> None:
    outcomes = run_python_blocks(README, tmp_path, _substitutions(fake_codex))
    assert len(outcomes) >= 2, "the README's Python blocks were not found"
    assert all(o.ok for o in outcomes), _failures(outcomes)


def test_the_reference_sdk_block_talks_to_the_fake(tmp_path: Path, fake_codex: Path) -> None:
    """The five-line example prints the final response of the replayed transcript (not just exit 0)."""
    (outcome,) = [o for o in run_python_blocks(README, tmp_path, _substitutions(fake_codex)) if "Hello" in o.output]
    assert "Hello from fake server" in outcome.output


def test_a_broken_readme_example_fails_the_suite(tmp_path: Path, fake_codex: Path) -> None:
    """A temporary copy of the README with one block altered: the same function reports that block as failing."""
    original = README.read_text(encoding="utf-8")
    assert original.count("thread.run_sync(") == 1
    broken = tmp_path / "README.md"
    broken.write_text(original.replace("thread.run_sync(", "thread.run_synchronously("), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    outcomes = run_python_blocks(broken, work, _substitutions(fake_codex))
    failed = [o for o in outcomes if not o.ok]
    assert [o.where for o in failed] == [f"README.md:{b.line}" for b in extract_blocks(broken, "python")
                                          if "run_synchronously" in b.text]
    assert "AttributeError" in failed[0].output and "run_synchronously" in failed[0].output


def test_a_wrong_adapter_reply_fails(tmp_path: Path) -> None:
    """The adapter block's replies are checked against the protocol schemas, not only its exit status."""
    readme = tmp_path / "README.md"
    readme.write_text('```python\nimport sys\nfor line in sys.stdin:\n    print(\'{"ok": "yes"}\')\n```\n')
    (outcome,) = run_python_blocks(readme, tmp_path, {})
    assert not outcome.ok and "start-reply" in outcome.output


def test_every_placeholder_is_in_the_readme() -> None:
    text = "".join(b.text for b in extract_blocks(README, "python"))
    assert [p for p in PLACEHOLDERS if p not in text] == []


@pytest.mark.parametrize("command", TO_RUN, ids=lambda c: f"{c.where} {c.text[:60]}")
def test_docs_shell_command_runs(command: Command, project_copy: Path) -> None:
    outcome = run_shell(command, project_copy)
    assert outcome.ok, _failures([outcome])


def test_docs_commands_are_found_and_every_exclusion_is_current() -> None:
    assert len(TO_RUN) >= 3, [c.text for c in TO_RUN]
    texts = {c.text for c in DOC_COMMANDS}
    assert [t for t in NOT_RUN if t not in texts] == [], "NOT_RUN names commands no doc shows any more"
    assert all(reason.strip() for reason in NOT_RUN.values())


def test_extraction_rules(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(
        "text\n```bash\n# a comment\nharness lint \\\n  fixtures/real   # why\n\necho '# not a comment'\n"
        "harness install  # doc-test: skip (network)\n```\n"
        "1. step\n   ```bash\n   harness verify\n   ```\n```python\nprint(1)\n```\n",
        encoding="utf-8",
    )
    blocks = extract_blocks(doc, "bash")
    assert [b.line for b in blocks] == [3, 12]
    commands = [c for b in blocks for c in shell_commands(b)]
    assert [(c.line, c.text) for c in commands] == [
        (4, "harness lint fixtures/real"),
        (7, "echo '# not a comment'"),
        (8, "harness install"),
        (12, "harness verify"),
    ]
    assert [not_run_reason(c) for c in commands] == [None, None, "network", None]
    assert [b.text for b in extract_blocks(doc, "python")] == ["print(1)\n"]


def test_a_failing_shell_command_is_reported(tmp_path: Path) -> None:
    (block,) = [Block(tmp_path / "doc.md", 1, "bash", "harness lint no/such/dir\n")]
    (command,) = shell_commands(block)
    outcome = run_shell(command, tmp_path)
    assert not outcome.ok and outcome.where == "doc.md:1"
