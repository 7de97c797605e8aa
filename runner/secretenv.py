"""The environment variables that carry GitHub tokens, kept out of every process runner starts.

    runner (entry.main, before anything else) ──take_token_env──> the values leave os.environ
        and stay in the master's memory: the fork server, the sages, a Dask LocalCluster, git
        and fixer commands all start from an environment without them
    read_token, redaction ──token_environ() / held_tokens()──> the values, master only
    a sage or Dask worker at start ──drop_token_env──> whatever it inherited is discarded

Why move them out instead of filtering each child's environment: a process's initial
environment stays readable in /proc/<pid>/environ by every process of the same user (a fixer
command can read its parent's), and a fork server started with the token would pass it on to
every sage it forks. Import-free on purpose: entry.py calls it before the fork server starts.
"""
from __future__ import annotations

import os
from collections.abc import MutableMapping

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
