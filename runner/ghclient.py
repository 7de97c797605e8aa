"""The GitHub connection: where, with what token, and how politely.

The token comes from `GITHUB_TOKEN` or a token file, never from the command
line (argv is visible to every user of the machine). It is checked when it is
read: one line of printable ASCII, else a usage error that does not echo it. It
is handed to PyGithub and to git, through environment-only config, only for the
git host of the GitHub the API URL names (`git_origin`), never to another host.
`redact` scrubs it, in every form a message can quote it (escaped, URL-encoded,
base64 as in an `Authorization` header), from any text runner prints or stores.

PyGithub does the request-level work it already does well: pagination, rate
limit headers, and `GithubRetry` (5xx and rate-limit waits for reads, with
`max_rate_limit_wait` so a primary limit that resets in an hour raises instead
of blocking). Writes are not retried by PyGithub: a POST whose reply was lost
may have happened, so the publisher looks before it writes again; their pace
is `runner.pacing.Pacer`'s, because it must adapt to secondary limits.
"""
from __future__ import annotations

import base64
import functools
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

from typing import TYPE_CHECKING

from runner.secretenv import held_tokens, token_environ

if TYPE_CHECKING:
    import github

log = logging.getLogger("runner.ghclient")

DEFAULT_API_URL = "https://api.github.com"
REDACTED = "***"


class TokenError(Exception):
    """No usable token (exit 2)."""


@dataclass(frozen=True)
class GitHubSettings:
    api_url: str = DEFAULT_API_URL
    token: str = field(default="", repr=False)
    write_interval_s: float = 1.0
    notify_interval_s: float = 3.0
    content_per_minute: int = 80
    content_per_hour: int = 500
    max_wait_s: float = 120.0
    secondary_wait_s: float = 60.0
    read_retries: int = 3
    timeout_s: int = 30
    comment: bool = True
    time_scale: float = 1.0
    labels: tuple[str, ...] = ("runner",)
    recreate_closed: bool = False
    remote: str = "origin"
    push_timeout_s: float = 600.0
    login: str | None = None

    def __repr__(self) -> str:
        return f"GitHubSettings(api_url={self.api_url!r}, token={REDACTED})"


def read_token(token_file: Path | None, environ: dict[str, str] | None = None) -> str:
    """The token from `token_file`, else from GITHUB_TOKEN (`environ`, default: as the user set it).

    Surrounding whitespace is dropped; a token with whitespace or control characters inside
    (a second line in the file, `$(cat file)` of one) is refused: an HTTP library would put it
    in an error message quoted with escapes that a plain search for the token does not find."""
    if token_file is not None:
        where = f"the token file {token_file}"
        try:
            text = token_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise TokenError(f"cannot read {where}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise TokenError(f"{where} is not UTF-8 text; it must hold the token alone, on one line") from None
        if not text.strip():
            raise TokenError(f"{where} is empty")
    else:
        where = "GITHUB_TOKEN"
        text = (token_environ() if environ is None else environ).get("GITHUB_TOKEN", "")
        if not text.strip():
            raise TokenError("no GitHub token: set GITHUB_TOKEN or pass --token-file FILE")
    token = text.strip()
    for secret in (token, *token.splitlines()):
        remember_secret(secret.strip())
    problem = token_problem(token)
    if problem:
        raise TokenError(f"{where} {problem}; it must hold the token alone, on one line")
    return token


def token_problem(token: str) -> str | None:
    """What makes `token` unusable in an HTTP header, without quoting any of it; None if nothing."""
    lines = len(token.splitlines())
    if lines > 1:
        return f"has {lines} lines"
    bad = next((c for c in token if not "!" <= c <= "~"), None)
    if bad is None:
        return None
    if bad.isspace():
        return "has whitespace inside the token"
    if bad.isprintable():
        return "has a character other than ASCII letters, digits and punctuation"
    return "has a control character inside the token"


def api_url(environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")


def make_github(settings: GitHubSettings) -> github.Github:
    """A PyGithub client: retries and rate-limit waits for reads only.

    PyGithub is imported here, not at module load: a run without `--github` should not pay
    for it at start-up (a third of a second of imports)."""
    import github
    from github import Auth, GithubRetry
    from urllib3.util.retry import Retry

    retry = GithubRetry(
        total=settings.read_retries,
        backoff_factor=0.5,
        secondary_rate_wait=settings.secondary_wait_s,
        max_rate_limit_wait=settings.max_wait_s,
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS - {"PUT", "DELETE"},
    )
    return github.Github(
        auth=Auth.Token(settings.token),
        base_url=settings.api_url,
        timeout=settings.timeout_s,
        per_page=100,
        retry=retry,
        seconds_between_requests=None,
        seconds_between_writes=None,
    )


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
    shown = ("".join(repr(c)[1:-1] for c in token), "".join(ascii(c)[1:-1] for c in token),
             "".join(repr(bytes([b]))[2:-1] for b in data))
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


def git_origin(api_url: str) -> str | None:
    """`scheme://host[:port]` of the git host of the GitHub that `api_url` names: github.com for
    the public API, HOST for an Enterprise `https://HOST/api/v3`, SUB.ghe.com for
    `https://api.SUB.ghe.com`, and any other URL's own origin (a local emulator)."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    if host == "api.github.com" or (host.startswith("api.") and host.endswith(".ghe.com")):
        host = host[len("api."):]
    return _origin(parts.scheme, host, _port(parts))


def remote_origin(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) git remote; None for ssh, file and local paths."""
    parts = urlsplit(url)
    return _origin(parts.scheme, parts.hostname or "", _port(parts))


def _origin(scheme: str, host: str, port: int | None) -> str | None:
    default = {"https": 443, "http": 80}.get(scheme)
    if default is None or not host or port == -1:
        return None
    name = f"[{host}]" if ":" in host else host
    return f"{scheme}://{name}" + (f":{port}" if port and port != default else "")


def _port(parts) -> int | None:
    try:
        return parts.port
    except ValueError:
        return -1


_not_sent: set[tuple[str, str | None]] = set()


def git_auth_env(remote_url: str, token: str, api_url: str) -> dict[str, str]:
    """Environment-only git config (never argv) sending the token to `remote_url`, when that is on
    the git host of the GitHub `api_url` names; the header is scoped to that host too. For any
    other host nothing is added: git's own credential helpers apply, and the log says so once."""
    remote, origin = remote_origin(remote_url), git_origin(api_url)
    if not token or remote is None:
        return {}
    if remote != origin:
        if (remote, origin) not in _not_sent:
            _not_sent.add((remote, origin))
            log.warning("the GitHub token is not sent to %s: it is not the GitHub git host (%s); git's own "
                        "credentials apply there", remote, origin or "none")
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{origin}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }
