"""The environment variables that carry GitHub tokens, kept out of every process runner starts.

    runner (entry.main, before anything else) ──take_token_env──> the values leave os.environ
        and stay in the master's memory: the fork server, the sages, a Dask LocalCluster, git
        and fixer commands all start from an environment without them
    read_token, redaction ──token_environ() / held_tokens()──> the values, master only
    a sage or Dask worker at start ──drop_token_env──> whatever it inherited is discarded

Why move them out instead of filtering each child's environment: a process's initial
environment stays readable in /proc/<pid>/environ by every process of the same user (a fixer
command can read its parent's), and a fork server started with the token would pass it on to
every sage it forks. `redact` scrubs the tokens, in every form a message can quote them (escaped,
URL-encoded, base64 as in an `Authorization` header), from any text runner prints or stores.
Standard library only on purpose: the entry point calls it before the fork server starts.
"""

from __future__ import annotations

import base64
import functools
import json
import os
from collections.abc import MutableMapping
from urllib.parse import quote, quote_plus

TOKEN_ENV = ("GITHUB_TOKEN", "GH_TOKEN", "GITHUB_ENTERPRISE_TOKEN", "GH_ENTERPRISE_TOKEN")

_held: dict[str, str] = {}


def take_token_env(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Move the token variables from the environment into this process's memory; all held so far."""
    env = os.environ if environ is None else environ
    for name in TOKEN_ENV:
        value = env.pop(name, None)
        if value is not None:
            _held[name] = value
    return dict(_held)


def drop_token_env(environ: MutableMapping[str, str] | None = None) -> None:
    """Remove the token variables from the environment and keep nothing: a worker never needs them."""
    env = os.environ if environ is None else environ
    for name in TOKEN_ENV:
        env.pop(name, None)


def token_environ() -> dict[str, str]:
    """The environment as the user set it: os.environ plus the token variables taken out of it."""
    return {**os.environ, **_held}


def held_tokens() -> list[str]:
    """The values taken out of the environment, for redaction."""
    return [value for value in _held.values() if value]


REDACTED = "***"


MIN_SECRET_CHARS = 8


_remembered: set[str] = set()


def remember_secret(value: str) -> None:
    """Redact `value` from all text this process scrubs from now on. Values shorter than
    MIN_SECRET_CHARS are no credential GitHub issues, and scrubbing them would mangle text."""
    if len(value) >= MIN_SECRET_CHARS:
        _remembered.add(value)


def redact(text: str, *tokens: str) -> str:
    """The text without `tokens`, the secrets remembered or taken out of the environment, or any
    form of them a message can carry: escaped as Python or JSON quotes it, URL-encoded, base64
    (as in an `Authorization: basic` header, whatever precedes the token there)."""
    secrets = {t for t in tokens if t} | _remembered | {t for t in held_tokens() if len(t) >= MIN_SECRET_CHARS}
    if not secrets or not text:
        return text
    for secret in secrets:
        for form in _token_forms(secret):
            if form in text:
                text = text.replace(form, REDACTED)
    return text


@functools.lru_cache(maxsize=32)
def _token_forms(token: str) -> tuple[str, ...]:
    """Every form of `token` to look for, longest first (a longer form contains shorter ones)."""
    data = _utf8(token)
    forms = {token, *_escaped_forms(token, data), quote(token), quote(token, safe=""), quote_plus(token)}
    for prefix in (b"", b"x-access-token:", b"token:"):
        forms.add(base64.b64encode(prefix + data).decode())
    forms.update(_base64_fragments(data))
    return tuple(sorted((f for f in forms if f), key=len, reverse=True))


def _escaped_forms(token: str, data: bytes) -> set[str]:
    """The token as repr() of a str or bytes, ascii() or JSON show it inside quotes."""
    shown = (
        "".join(repr(c)[1:-1] for c in token),
        "".join(ascii(c)[1:-1] for c in token),
        "".join(repr(bytes([b]))[2:-1] for b in data),
    )
    forms = {json.dumps(token)[1:-1], json.dumps(token, ensure_ascii=False)[1:-1]}
    for text in shown:
        forms |= {text, text.replace("'", "\\'"), text.replace('"', '\\"')}
    return forms


def _base64_fragments(data: bytes) -> set[str]:
    """The base64 characters that encode the token alone, at each of the 3 offsets it can have
    after a prefix: they appear in the encoding of `<anything>:<token>`, whatever the prefix."""
    fragments = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + data).decode()
            first, last = (4 if offset else 0), (offset + len(data)) // 3 * 4
            if last - first >= MIN_SECRET_CHARS:
                fragments.add(encoded[first:last])
    return fragments


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")
