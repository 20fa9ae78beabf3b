"""Secrets of every shape never reach a golden, a report or a log: canaries of each kind are planted in a
scenario's options (URL userinfo, config keys named like secrets at any depth, env, token shapes in the prompt),
the scenario is recorded as a golden and run through ``harness parity``, and every file written is searched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

import harness.cli as cli
from harness.redact import REDACTED, is_secret_key, redact_data, redact_text

ROOT = Path(__file__).resolve().parents[1]

CANARIES = {
    "url userinfo": "canary-pw-0451",
    "config api_key": "canary-cfg-key-0452",
    "config auth_token (nested)": "canary-cfg-tok-0453",
    "mcp env password (deeper)": "canary-env-pass-0454",
    "env token": "canary-env-tok-0455",
    "api key option": "sk-canaryAPIKEY0456xyzw",
    "github token in the prompt": "ghp_canary0457canary0457canary0457",
    "jwt in the prompt": "eyJhbGciOiJIUzI1NiJ9.eyJjYW5hcnkiOiIwNDU4In0.c2lnbmF0dXJlMDQ1OA",
    "bearer in the prompt": "canaryBearer0459",
}

SCENARIO = f"""\
title: "secrets of every shape are redacted"
tags: [secrets, run]
plan:
  steps:
    - replay: fixtures/real/0.169.0/agent_message.jsonl
options:
  codex:
    base_url: "https://canary-user:{CANARIES["url userinfo"]}@example.test/v1"
    api_key: "{CANARIES["api key option"]}"
    config:
      model_providers:
        fake:
          api_key: "{CANARIES["config api_key"]}"
          extra:
            auth_token: "{CANARIES["config auth_token (nested)"]}"
      mcp_servers:
        echo:
          env:
            MY_PASSWORD: "{CANARIES["mcp env password (deeper)"]}"
    env:
      MY_SERVICE_TOKEN: "{CANARIES["env token"]}"
  thread:
    skip_git_repo_check: true
input: >-
  use {CANARIES["github token in the prompt"]} and {CANARIES["jwt in the prompt"]}
  with Bearer {CANARIES["bearer in the prompt"]}
mode: run
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "scenarios" / "secrets").mkdir(parents=True)
    (tmp_path / "scenarios" / "secrets" / "canary.yaml").write_text(SCENARIO, encoding="utf-8")
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _everything_written(root: Path) -> dict[Path, str]:
    out = {}
    for base in ("golden", "reports"):
        for path in sorted((root / base).rglob("*")):
            if path.is_file():
                out[path] = path.read_text(encoding="utf-8", errors="replace")
    return out


def test_no_canary_reaches_a_golden_a_report_or_a_log(project: Path) -> None:
    runner = CliRunner()
    refreshed = runner.invoke(cli.app, ["golden", "refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    ran = runner.invoke(cli.app, ["parity", "--impl", "reference"])
    assert ran.exit_code == 0, ran.output
    written = _everything_written(project)
    assert any(p.name == "parity.json" for p in written) and any(p.suffix == ".json" for p in written)
    golden = next(text for path, text in written.items() if path.parts[-3:-1] == ("golden", "secrets"))
    assert REDACTED in golden and '"logs"' in golden, "the secrets were there to redact, and logs are in the golden"
    for path, text in written.items():
        for kind, canary in CANARIES.items():
            assert canary not in text, f"{kind} leaked into {path.relative_to(project)}"
    for kind, canary in CANARIES.items():
        assert canary not in ran.output, f"{kind} leaked into the terminal"


@pytest.mark.parametrize(
    "text",
    [
        'model_providers.x.api_key="s3cr3t-value"',
        'model_providers.x.api_key=\\"s3cr3t-value\\"',
        '{ api_key = "s3cr3t-value", name = "x" }',
        '"client_secret": "s3cr3t-value"',
        "OPENAI_API_KEY=s3cr3t-value",
        "password: s3cr3t-value",
        "https://user:s3cr3t-value@host/v1",
        "Authorization: Bearer s3cr3t-value",
    ],
)
def test_each_shape_is_redacted(text: str) -> None:
    assert "s3cr3t-value" not in redact_text(text)
    assert redact_text(redact_text(text)) == redact_text(text), "idempotent"


def test_what_is_not_a_secret_stays() -> None:
    text = '{"input_tokens": 10, "max_output_tokens": 5, "token: 5", "FAKE_API_KEY": "dummy", "see": "https://host/x"}'
    assert redact_text(text) == text
    assert not is_secret_key("input_tokens") and not is_secret_key("cached_input_tokens")
    assert is_secret_key("CODEX_API_KEY") and is_secret_key("auth_token") and is_secret_key("Authorization")
    data = {"env": {"PATH": "/usr/bin", "GITHUB_TOKEN": "x" * 12}, "deep": [{"password": "hunter22"}]}
    assert redact_data(data) == {
        "env": {"PATH": "/usr/bin", "GITHUB_TOKEN": REDACTED},
        "deep": [{"password": REDACTED}],
    }


def test_the_atomic_writer_is_the_last_net(tmp_path: Path) -> None:
    from harness._atomic import write_text_atomic

    write_text_atomic(tmp_path / "x.md", "leak: https://u:canary-net-0460@h/ and sk-canaryNET0460abcdef\n")
    text = (tmp_path / "x.md").read_text()
    assert "canary-net-0460" not in text and "sk-canaryNET0460" not in text
    write_text_atomic(tmp_path / "launcher", "token=abcdefgh\n", redact=False)
    assert (tmp_path / "launcher").read_text() == "token=abcdefgh\n", "code is written as it is"
    assert os.stat(tmp_path / "launcher").st_mode & 0o777 == 0o644
