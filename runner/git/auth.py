"""Which host gets the GitHub token: git origins, and the environment-only git config that sends it."""

from __future__ import annotations

import base64
import logging
from urllib.parse import urlsplit

log = logging.getLogger("runner.git.auth")

DEFAULT_API_URL = "https://api.github.com"


def git_origin(api_url: str) -> str | None:
    """`scheme://host[:port]` of the git host of the GitHub that `api_url` names: github.com for
    the public API, HOST for an Enterprise `https://HOST/api/v3`, SUB.ghe.com for
    `https://api.SUB.ghe.com`, and any other URL's own origin (a local emulator)."""
    parts = urlsplit(api_url)
    host = parts.hostname or ""
    if host == "api.github.com" or (host.startswith("api.") and host.endswith(".ghe.com")):
        host = host[len("api.") :]
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
            log.warning(
                "the GitHub token is not sent to %s: it is not the GitHub git host (%s); git's own "
                "credentials apply there",
                remote,
                origin or "none",
            )
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{origin}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }
