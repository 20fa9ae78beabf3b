"""Secrets, whatever their shape, never reach a golden, a report, a log or a recording: the one place that knows
what a secret looks like.

Three rules, applied to data (:func:`redact_data`) or to text that is already serialized (:func:`redact_text`):

1. **by key name, at any depth**: a string under a key that names a secret (``api_key``, ``OPENAI_API_KEY``,
   ``auth_token``, ``password``, ``client_secret``, ``credentials``, ``authorization``, ...) — in a mapping (env,
   config, provider tables, headers), in a ``key=value`` / ``key = "value"`` assignment (``--config
   model_providers.x.api_key="..."``, a TOML inline table, ``FOO_TOKEN=...``) or in JSON text (``"api_key": "..."``);
2. **URL userinfo**: ``https://user:secret@host/`` → ``https://<redacted>@host/``;
3. **known token shapes**: OpenAI keys (``sk-…``, ``sk-proj-…``), GitHub tokens (``ghp_…``, ``github_pat_…``),
   Slack tokens (``xox[abpr]-…``), AWS access key ids (``AKIA…``), JWTs, and ``Bearer``/``Basic`` credentials.

Every writer of the harness passes through here: normalization (goldens and observations in reports),
:func:`harness._atomic.write_text_atomic` (every report view, golden, baseline and badge, as a last net over the
text), the log formatter, the fake servers' request logs and the recorder's meta files. ``<redacted>`` itself is
left alone, so redacting twice changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["PLACEHOLDERS", "REDACTED", "is_secret_key", "redact_data", "redact_text"]

REDACTED = "<redacted>"

_SECRET_WORD = r"(?:api[_-]?key|apikey|secret|password|passwd|token|auth[_-]?token|access[_-]?token|credentials?)"
_SECRET_KEY = re.compile(
    rf"(?i)(?:^|[_.\-]){_SECRET_WORD}$|^{_SECRET_WORD}$|^authorization$|^proxy-authorization$|^(?:set-)?cookie$"
)
#: Values that name no secret although they sit where one would: the offline config's documented placeholder
#: key (``FAKE_API_KEY=dummy``, in every recording's meta) and the redaction marker itself.
PLACEHOLDERS: frozenset[str] = frozenset({"dummy", REDACTED})
# A key as it appears in an assignment: a dotted/underscored name that *ends* in a secret word.
_KEY_TEXT = rf"[A-Za-z0-9_.\-]*?(?<![A-Za-z0-9]){_SECRET_WORD}|[A-Za-z0-9_.\-]*[_.\-]{_SECRET_WORD}"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # JSON text: "api_key": "value"  (the value may hold escaped quotes)
    (re.compile(rf'(?i)("(?:{_KEY_TEXT})"\s*:\s*")(?!{REDACTED}")((?:[^"\\]|\\.)+)(")'), rf"\1{REDACTED}\3"),
    # assignments with a quoted value, the quote possibly escaped (inside JSON text): key="v", key = \"v\"
    (
        re.compile(rf'(?i)(?<![A-Za-z0-9_])((?:{_KEY_TEXT})\s*[=:]\s*)(\\?["\'])(?!{REDACTED})((?:(?!\2).)+)(\2)'),
        rf"\1\2{REDACTED}\4",
    ),
    # assignments with a bare value: FOO_TOKEN=abc, api_key: abc
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9_])((?:{_KEY_TEXT})=)(?!{REDACTED})(?![\"'\\])([^\s\"',;&}}\]]+)"),
        rf"\1{REDACTED}",
    ),
    # YAML-style "key: value" with a bare, non-numeric value (``password: hunter2``; a count like ``token: 5`` stays)
    (
        re.compile(rf"(?i)(?<![A-Za-z0-9_\"])((?:{_KEY_TEXT}):\s+)(?!{REDACTED})(?![\"'\\\d{{\[])([^\s\"',;&}}\]]+)"),
        rf"\1{REDACTED}",
    ),
    # URL userinfo
    (re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)(?!<redacted>@)[^\s/@\"'<>]+@"), rf"\1{REDACTED}@"),
    # token shapes
    (re.compile(r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{8,}"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"), REDACTED),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic)\s+(?!<redacted>)[A-Za-z0-9._~+/=\-]{8,}"), rf"\1 {REDACTED}"),
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key / env variable / config key names a secret (``OPENAI_API_KEY``, ``api_key``,
    ``model_providers.x.auth_token``, ``authorization``; not ``input_tokens`` or ``max_output_tokens``).

    >>> [is_secret_key(key) for key in ("OPENAI_API_KEY", "model_providers.x.auth_token", "input_tokens")]
    [True, True, False]
    """
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """``text`` with every secret the rules recognise replaced by ``<redacted>`` (:data:`PLACEHOLDERS` kept).

    >>> redact_text('codex exec -c model_providers.x.api_key="not-a-real-key" https://me:pw@proxy.test/')
    'codex exec -c model_providers.x.api_key="<redacted>" https://<redacted>@proxy.test/'
    >>> redact_text("Authorization: Bearer abcdefgh12345678 and FAKE_API_KEY=dummy")  # the placeholder stays
    'Authorization: Bearer <redacted> and FAKE_API_KEY=dummy'
    """
    if not text:
        return text
    for pattern, replacement in _PATTERNS:

        def replace(match: re.Match[str], replacement: str = replacement) -> str:
            value = next((g for g in reversed(match.groups()) if g and g not in ("'", '"', '\\"', "\\'")), "")
            if value in PLACEHOLDERS:
                return match.group(0)
            return match.expand(replacement)

        text = pattern.sub(replace, text)
    return text


def redact_data(value: Any) -> Any:
    """A copy of ``value`` (JSON-like data) with secrets redacted: non-empty strings under secret keys at any
    depth, and every string through :func:`redact_text`. Other values are returned as they are.

    >>> redact_data({"env": {"OPENAI_API_KEY": "anything", "RUST_LOG": "info"}, "note": "key sk-test-0000000000"})
    {'env': {'OPENAI_API_KEY': '<redacted>', 'RUST_LOG': 'info'}, 'note': 'key <redacted>'}
    >>> redact_data(redact_data({"token": "x"})) == {"token": "<redacted>"}  # redacting twice changes nothing
    True
    """
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if (
                isinstance(key, str)
                and is_secret_key(key)
                and isinstance(item, str)
                and item not in ("", *PLACEHOLDERS)
            ):
                out[key] = REDACTED
            else:
                out[key] = redact_data(item)
        return out
    if isinstance(value, list | tuple):
        return [redact_data(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value
