"""`harness adapters new`: the Python and Node skeletons pass `harness adapters check` as generated, their stub "SDK"
observes what the reference SDK observes on the same fake, and nothing is ever overwritten."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.adapters import AdapterClient, Observed, in_process_connection, subprocess_connection
from harness.adapters.check import CheckOptions, ProbeFactory, check_adapter, process_launcher
from harness.adapters.reference_adapter import handler
from harness.adapters.skeleton import LANGUAGES, SkeletonError, render, skeleton_filename, write_skeleton
from harness.cli import app

NODE = shutil.which("node") or "node"
RUNNERS = {"python": [sys.executable], "node": [NODE]}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_render_fills_every_placeholder(lang: str) -> None:
    text = render("my-sdk", lang, "out/x")
    assert "{{name}}" not in text and "{{filename}}" not in text
    assert '"my-sdk"' in text and "SDK CALL" in text and "out/x" in text
    if lang == "node":
        assert "require(" not in text and 'from "node:' in text  # standard library only
    else:
        assert "import harness" not in text and "from harness" not in text


@pytest.mark.parametrize(("name", "lang", "match"), [
    ("bad name", "python", "name 'bad name'"),
    ("1abc", "node", "name '1abc'"),
    ('x"y', "python", "name"),
    ("ok", "cobol", "--lang 'cobol'"),
])
def test_bad_name_or_language(name: str, lang: str, match: str, tmp_path: Path) -> None:
    with pytest.raises(SkeletonError, match=match):
        write_skeleton(name, lang, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_refuses_to_overwrite(lang: str, tmp_path: Path) -> None:
    target = tmp_path / skeleton_filename("mine", lang)
    target.write_text("my own work\n")
    with pytest.raises(SkeletonError, match="already exists"):
        write_skeleton("mine", lang, tmp_path)
    assert target.read_text() == "my own work\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temp file left behind


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_generated_skeleton_passes_the_check(lang: str, tmp_path: Path, no_leaks: str) -> None:
    written = write_skeleton("demo-sdk", lang, tmp_path / "adapters")
    assert written.path.is_file() and written.path.stat().st_mode & 0o100
    argv = [*RUNNERS[lang], str(written.path)]
    report = asyncio.run(check_adapter(process_launcher(argv), options=CheckOptions(quiet=0.1), command=argv))
    assert report.passed, report.to_text()
    assert report.implementation is not None and report.implementation["name"] == "demo-sdk"


async def _observe(connect: Any, probes: ProbeFactory, kind: str) -> dict[str, Any]:
    probe = probes.build(kind)  # type: ignore[arg-type]
    async with AdapterClient(connect, name="x") as client:
        result = await client.run(probe.case, codex_path=probe.codex_path, workdir=probe.workdir)
    assert isinstance(result, Observed), result
    return result.observation


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_stub_sdk_observes_like_the_reference(lang: str, tmp_path: Path, no_leaks: str) -> None:
    written = write_skeleton("demo", lang, tmp_path)
    argv = [*RUNNERS[lang], str(written.path)]
    probes = ProbeFactory("exec", tmp_path / "probes")

    async def both(kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
        mine = await _observe(lambda: subprocess_connection(argv), probes, kind)
        ref = await _observe(lambda: in_process_connection(handler()), probes, kind)
        return mine, ref

    mine, ref = asyncio.run(both("ok"))
    assert mine["error"] is None and ref["error"] is None
    for key in ("thread_id", "final_response", "usage"):
        assert mine["result"][key] == ref["result"][key]
    mine, ref = asyncio.run(both("fail"))
    assert mine["result"] is None and ref["result"] is None
    assert mine["error"]["kind"] == ref["error"]["kind"] == "exit"


def test_cli_prints_commands_and_refuses_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["adapters", "new", "acme", "--lang", "node", "-o", str(tmp_path)])
    assert first.exit_code == 0, first.output
    target = tmp_path / "acme-adapter.mjs"
    assert f"wrote {target}" in first.stdout
    assert f'harness adapters check "node {target}"' in first.stdout
    assert f'harness parity --adapter acme="node {target}"' in first.stdout
    again = runner.invoke(app, ["adapters", "new", "acme", "--lang", "node", "-o", str(tmp_path)])
    assert again.exit_code == 2
    assert "already exists" in again.output
