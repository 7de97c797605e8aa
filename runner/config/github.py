"""Where GitHub is and with what token: the settings of the `[github]` table and the token reader.

The token comes from `GITHUB_TOKEN` or a token file, never from the command line (argv is
visible to every user of the machine). It is checked when it is read: one line of printable
ASCII, else a usage error that does not echo it. A GitHub App is given instead by its id, the
file of its private key (read here, checked, and every line of it kept for redaction) and,
optionally, its installation id; `runner.github.app_auth` turns them into installation tokens.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.core.errors import UsageError
from runner.core.secrets import REDACTED, remember_secret, token_environ
from runner.git.auth import DEFAULT_API_URL


class TokenError(UsageError):
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
    app: AppCredentials | None = None
    publish: str = "pr"
    priority_label: str = "priority/{priority}"
    kind_label: str = "kind/{kind}"

    def issue_labels(self, priority: str, kind: str) -> tuple[str, str]:
        """The priority and kind labels of an issue triaged as `priority` (lower case) and `kind`."""
        return self.priority_label.format(priority=priority), self.kind_label.format(kind=kind)

    def __repr__(self) -> str:
        return f"GitHubSettings(api_url={self.api_url!r}, token={REDACTED})"


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App: its id, its private key (PEM text) and the installation runner acts as
    (None: the installation on `repository`, asked of GitHub at start)."""

    app_id: int
    private_key: str = field(repr=False)
    key_file: Path
    installation_id: int | None = None
    repository: str | None = None

    def __repr__(self) -> str:
        return (
            f"AppCredentials(app_id={self.app_id}, key_file={str(self.key_file)!r}, private_key={REDACTED}, "
            f"installation_id={self.installation_id})"
        )


def app_credentials(
    app_id: object, key_file: object, installation_id: object, repository: str | None
) -> AppCredentials | None:
    """The App settings (`app_id`, `app_key_file`, `installation_id`), checked; None when none is given."""
    if app_id is None and key_file is None and installation_id is None:
        return None
    if app_id is None or key_file is None:
        raise TokenError("a GitHub App needs both app_id and app_key_file (--app-id, --app-key-file)")
    path = Path(str(key_file)).expanduser()
    return AppCredentials(
        app_id=_app_number(app_id, "app_id"),
        private_key=read_app_key(path),
        key_file=path,
        installation_id=None if installation_id is None else _app_number(installation_id, "installation_id"),
        repository=repository,
    )


def _app_number(value: object, name: str) -> int:
    text = str(value).strip() if isinstance(value, (int, str)) and not isinstance(value, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise TokenError(f"{name} must be a positive whole number (the App's settings page shows it), got {value!r}")
    return int(text)


def read_app_key(path: Path) -> str:
    """The App's private key from its PEM file; every line is remembered for redaction before any
    check, and no message quotes it. GitHub Apps sign with RSA keys."""
    where = f"the App key file {path}"
    try:
        text = path.read_text(encoding="ascii")
    except OSError as exc:
        raise TokenError(f"cannot read {where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise TokenError(f"{where} is not a PEM file (it holds non-ASCII bytes)") from None
    for line in (text.strip(), *text.splitlines()):
        if not line.startswith("-----"):
            remember_secret(line.strip())
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise TokenError(
            f"{where} is not an unencrypted PEM private key (the .pem file the App's settings page generates)"
        ) from None
    except Exception:
        raise TokenError(f"{where} holds a private key this system cannot read") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TokenError(f"{where} holds a private key that is not RSA; GitHub Apps use RSA keys")
    return text.strip() + "\n"


PUBLISH_MODES = ("triage", "pr")


def publish_settings(get: Callable[[str, Any], Any], *, has_fixer: bool, commit_plan: bool) -> dict[str, Any]:
    """`publish`, `priority_label` and `kind_label` of the `[github]` table (or `--publish`).

    The default is `pr` with a fixer command (there is a change to propose) and `triage`
    without one; `pr` without a fixer has nothing but the plan to propose, so it is taken
    only with `commit_plan` (plan branches as pull requests), never by surprise."""
    mode = get("publish", None) or ("pr" if has_fixer else "triage")
    if mode not in PUBLISH_MODES:
        raise ValueError(f"github publish must be one of {', '.join(PUBLISH_MODES)}, got {mode!r}")
    if mode == "pr" and not has_fixer and not commit_plan:
        raise ValueError(
            "--publish pr without a fixer command (--command) has no change to propose: add "
            "--commit-plan to publish plan branches as pull requests, or use --publish triage"
        )
    labels = {
        key: get(key, default)
        for key, default in (("priority_label", "priority/{priority}"), ("kind_label", "kind/{kind}"))
    }
    for key, template in labels.items():
        field_name = key.split("_")[0]
        try:
            ok = isinstance(template, str) and template.format(**{field_name: "x"}) != template
        except (KeyError, IndexError, ValueError):
            ok = False
        if not ok:
            raise ValueError(
                f"github {key} must be a label name with {{{field_name}}} in it "
                f'(e.g. "{field_name}/{{{field_name}}}"), got {template!r}'
            )
    return {"publish": mode, **labels}


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
