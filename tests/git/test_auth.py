"""The token goes to GitHub's git host only, through the environment, never argv."""

from __future__ import annotations

import base64
import logging

import pytest

from runner.git.auth import git_auth_env, git_origin, remote_origin


@pytest.mark.parametrize(
    ("api_url", "origin"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://[::1]:8123/api", "http://[::1]:8123"),
        ("ftp://example.com", None),
    ],
)
def test_git_origin_of_each_kind_of_github(api_url: str, origin: str | None) -> None:
    assert git_origin(api_url) == origin


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://github.com/o/r.git", "https://github.com"),
        ("https://github.com:443/o/r.git", "https://github.com"),
        ("git@github.com:o/r.git", None),
        ("ssh://git@github.com/o/r.git", None),
        ("/srv/git/r.git", None),
        ("https://github.com:notaport/o/r", None),
    ],
)
def test_remote_origin(url: str, origin: str | None) -> None:
    assert remote_origin(url) == origin


def test_the_header_is_scoped_to_the_github_host() -> None:
    env = git_auth_env("https://github.com/o/r.git", "ghs_secret", "https://api.github.com")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraheader"
    scheme, encoded = env["GIT_CONFIG_VALUE_0"].split(": ", 1)[1].split(" ", 1)
    assert scheme == "basic"
    assert base64.b64decode(encoded).decode() == "x-access-token:ghs_secret"


def test_no_token_for_another_host_and_the_log_says_so_once(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="runner.git.auth")
    for _ in range(3):
        assert git_auth_env("https://gitlab.example.org/o/r.git", "ghs_secret", "https://api.github.com") == {}
    warnings = [r for r in caplog.records if "not sent to https://gitlab.example.org" in r.getMessage()]
    assert len(warnings) == 1
    assert "ghs_secret" not in caplog.text


def test_nothing_for_ssh_remotes_or_without_a_token() -> None:
    assert git_auth_env("git@github.com:o/r.git", "ghs_secret", "https://api.github.com") == {}
    assert git_auth_env("https://github.com/o/r.git", "", "https://api.github.com") == {}
