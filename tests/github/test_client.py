"""The token: read and checked once, scrubbed in every form, sent only to the GitHub git host."""

from __future__ import annotations

import base64
import json
import logging
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import GH_REPO, TOKEN, git, issue, latest_report
from git_https import GitHttpsServer

from runner.config.github import TokenError, read_token
from runner.core.secrets import redact
from runner.git.auth import git_auth_env, git_origin, remote_origin

pytestmark = pytest.mark.timeout(120)

FIRST, SECOND = "ghp_LINEONEsecret0123", "ghp_LINETWOsecret4567"


def assert_absent(secrets: tuple[str, ...], *texts: str, directories: tuple[Path, ...] = ()) -> None:
    blobs = [t.encode() for t in texts]
    for directory in directories:
        blobs += [p.read_bytes() for p in directory.rglob("*") if p.is_file()]
    for secret in secrets:
        assert not any(secret.encode() in blob for blob in blobs), secret


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, problem",
    [
        (f"{FIRST}\n{SECOND}\n", "has 2 lines"),
        (f"{FIRST}\r\n{SECOND}", "has 2 lines"),
        (f"{FIRST} {SECOND}", "has whitespace inside"),
        (f"{FIRST}\x01{SECOND}", "control character"),
        (f"{FIRST}\u00e9{SECOND}", "other than ASCII"),
    ],
)
def test_a_token_with_inner_whitespace_or_control_characters_is_refused_without_echoing_it(tmp_path, content, problem):
    path = tmp_path / "token"
    path.write_text(content, encoding="utf-8")
    for source, kwargs in (
        ("the token file", {"token_file": path}),
        ("GITHUB_TOKEN", {"environ": {"GITHUB_TOKEN": content}}),
    ):
        with pytest.raises(TokenError) as error:
            read_token(kwargs.get("token_file"), kwargs.get("environ"))
        message = str(error.value)
        assert source in message and problem in message
        assert FIRST not in message and SECOND not in message and "LINE" not in message


def test_surrounding_whitespace_is_dropped(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"  {TOKEN}\n\n")
    assert read_token(path) == TOKEN
    assert read_token(None, {"GITHUB_TOKEN": f"{TOKEN}\n"}) == TOKEN
    with pytest.raises(TokenError, match="is empty"):
        path.write_text(" \n")
        read_token(path)


# --- redaction ------------------------------------------------------------------------------


def test_every_form_of_the_token_is_redacted():
    token = "ghp_Redact'Me\"Back\\slash_0123456789"
    quoted = {
        "raw": token,
        "repr": repr("token " + token),
        "repr of bytes": repr(("token " + token).encode()),
        "ascii": ascii(token),
        "json": json.dumps({"header": "token " + token}),
        "url": "https://x:" + quote(token, safe="") + "@github.com/",
        "url, / safe": quote(token),
    }
    for name, text in quoted.items():
        assert "***" in redact(text, token), name
        assert token not in redact(text, token)
    for prefix in ("", "x-access-token:", "token:", "u:", "ab:", "abc:", "someone@example.com:"):
        encoded = base64.b64encode((prefix + token).encode()).decode()
        cleaned = redact(f"AUTHORIZATION: basic {encoded}", token)
        assert "***" in cleaned, prefix
        core = base64.b64encode(token.encode()).decode()[8:-8]
        assert core not in cleaned and len(cleaned) < len(encoded), prefix


def test_a_refused_token_is_still_redacted_in_the_form_requests_quotes_it(tmp_path):
    path = tmp_path / "token"
    path.write_text(f"{FIRST}\n{SECOND}\n")
    with pytest.raises(TokenError):
        read_token(path)
    message = f"Invalid return character in header value: {'token ' + FIRST + chr(10) + SECOND!r}"
    assert_absent((FIRST, SECOND), redact(message))


# --- where the token goes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "api, origin",
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
    ],
)
def test_the_git_host_is_the_one_the_api_url_names(api, origin):
    assert git_origin(api) == origin


@pytest.mark.parametrize(
    "remote",
    [
        "https://github.com/acme/app.git",
        "https://someone@github.com/acme/app",
        "https://GitHub.com:443/acme/app.git",
    ],
)
def test_the_token_goes_to_the_github_host_in_an_env_only_header_scoped_to_it(remote):
    env = git_auth_env(remote, TOKEN, "https://api.github.com")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    header = env["GIT_CONFIG_VALUE_0"]
    assert base64.b64decode(header.split()[-1]).decode() == f"x-access-token:{TOKEN}"


@pytest.mark.parametrize(
    "remote",
    [
        "https://gitlab.com/acme/app.git",
        "https://github.com.evil.example/acme/app.git",
        "http://github.com/acme/app.git",
        "https://github.com:8443/acme/app.git",
        "git@github.com:acme/app.git",
        "ssh://git@github.com/acme/app.git",
        "/srv/git/app.git",
        "file:///srv/git/app.git",
    ],
)
def test_no_token_for_any_other_host_or_transport(remote):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("runner.git.auth")
    logger.addHandler(handler)
    try:
        assert git_auth_env(remote, TOKEN, "https://api.github.com") == {}
    finally:
        logger.removeHandler(handler)
    said = [r.getMessage() for r in records]
    assert any("not sent to" in m for m in said) == (remote_origin(remote) is not None)
    assert not any(TOKEN in m for m in said)


# --- end to end: runner fetch / runner process ----------------------------------------------


def test_a_two_line_token_stops_fetch_and_process_with_exit_2_and_leaks_nowhere(github_world, runner_cli, tmp_path):
    world = github_world()
    token_file = tmp_path / "token"
    token_file.write_text(f"{FIRST}\n{SECOND}\n")
    fetched = runner_cli(
        "fetch",
        GH_REPO,
        "--token-file",
        str(token_file),
        "-o",
        str(tmp_path / "x.jsonl"),
        "--state-dir",
        str(tmp_path / "state"),
        env={"GITHUB_API_URL": world.url},
    )
    assert fetched.returncode == 2 and b"has 2 lines" in fetched.stderr
    pasted = runner_cli(
        "process",
        "--repo",
        str(world.clone),
        *world.fast_flags(),
        env={**world.env(), "GITHUB_TOKEN": f"{FIRST}\n{SECOND}"},
    )
    assert pasted.returncode == 2 and b"GITHUB_TOKEN has 2 lines" in pasted.stderr
    controlled = runner_cli(
        "process",
        "--repo",
        str(world.clone),
        *world.fast_flags(),
        env={**world.env(), "GITHUB_TOKEN": f"{FIRST}\x07{SECOND}"},
    )
    assert controlled.returncode == 2 and b"control character" in controlled.stderr
    for result in (fetched, pasted, controlled):
        assert_absent(
            (FIRST, SECOND),
            result.stdout.decode(),
            result.stderr.decode(),
            directories=(tmp_path / "state", tmp_path / "reports"),
        )
    assert world.emulator.stats.get("pulls_created", 0) == 0


@pytest.fixture
def https_git(tmp_path):
    servers = []

    def start(root: Path) -> GitHttpsServer:
        (tmp_path / "tls").mkdir(exist_ok=True)
        servers.append(GitHttpsServer(root, tmp_path / "tls"))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_publishing_pushes_to_an_origin_on_another_host_without_the_token(
    github_world, https_git, runner_cli, tmp_path
):
    world = github_world()
    numbers = world.seed(2)
    server = https_git(world.root)
    git(world.clone, "remote", "set-url", "origin", f"{server.url}/remote.git")
    path = world.issues_file(tmp_path / "issues.jsonl")
    result = runner_cli(
        "process", str(path), "--repo", str(world.clone), *world.fast_flags(), env={**world.env(), **server.git_env()}
    )
    assert result.returncode == 0, result.stderr.decode()
    assert {r["status"] for r in latest_report(tmp_path / "reports")["issues"]} == {"published"}
    assert git(world.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/runner/").split() == [
        f"runner/issue-{n}" for n in numbers
    ]
    assert server.authorizations and set(server.authorizations) == {None}
    log = (tmp_path / "state" / "logs" / "runner.log").read_text()
    assert f"the GitHub token is not sent to {server.url}" in log
    assert_absent(
        (TOKEN,), result.stdout.decode(), result.stderr.decode(), directories=(tmp_path / "state", tmp_path / "reports")
    )


def clone_over_https(runner_cli, write_issues, server: GitHttpsServer, api_url: str, tmp_path: Path, state: str):
    issues = write_issues([issue(1, "Login fails", "in app/auth/login.py")])
    return runner_cli(
        "process",
        str(issues),
        "--repo",
        f"{server.url}/remote.git",
        state=state,
        env={"GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": api_url, **server.git_env()},
    )


def test_a_repository_url_on_another_host_is_cloned_without_the_token(
    make_repo, write_issues, https_git, runner_cli, tmp_path
):
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    subprocess.run(["git", "clone", "-q", "--bare", str(make_repo()), str(hosted / "remote.git")], check=True)
    server = https_git(hosted)
    result = clone_over_https(runner_cli, write_issues, server, "", tmp_path, "state")
    assert result.returncode == 0, result.stderr.decode()
    assert server.authorizations and set(server.authorizations) == {None}
    assert "is not sent to" in (tmp_path / "state" / "logs" / "runner.log").read_text()

    server.authorizations.clear()
    enterprise = clone_over_https(runner_cli, write_issues, server, f"{server.url}/api/v3", tmp_path, "state2")
    assert enterprise.returncode == 0, enterprise.stderr.decode()
    expected = "basic " + base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert server.authorizations and {a.lower() if a else a for a in server.authorizations} == {expected.lower()}
    assert_absent(
        (TOKEN,),
        enterprise.stdout.decode(),
        enterprise.stderr.decode(),
        directories=(tmp_path / "state2" / "logs", tmp_path / "reports"),
    )
