"""What every batch command (`runner process`, `runner nightly`) shares around its run: the
configuration, the state-directory lock, clones of remote repositories, the journal, signal
handling, and the exit code.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from pathlib import Path

import typer

from runner.cli.logs import setup_logging
from runner.config import Config, ConfigError, build_config
from runner.core.errors import RunnerError
from runner.core.locks import RunLock
from runner.core.status import ExitCode
from runner.git.packedlock import release_held_locks
from runner.records.journal import Journal
from runner.run.pipeline import ProcessRun

JOURNAL_NAME = "journal.sqlite"


def run_batch(options: dict, config_path: Path | None, ui, start, after=None) -> None:
    """Config, state-dir lock, journal, signals, report, exit code: what every batch command shares."""
    try:
        cfg = build_config(options, config_path)
        setup_logging(cfg.state_dir, [cfg.github_settings.token] if cfg.github_settings else [])
        with RunLock(cfg.state_dir):
            _connect_app(cfg)
            _sync_clones(cfg)
            journal = Journal(cfg.state_dir / JOURNAL_NAME)
            try:
                run = start(cfg, journal)
                with _stop_on_signals(run, ui):
                    outcome = run.execute()
                if after is not None:
                    after(cfg, journal, run, outcome)
            finally:
                journal.close()
    except RunnerError as exc:
        ui.error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ui.error("interrupted before the run started; nothing was written")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    ui.summary(outcome)
    raise typer.Exit(outcome.exit_code)


def _connect_app(cfg: Config) -> None:
    """As a GitHub App: find the installation and take its first token now, so a wrong key or
    installation is a usage error before any work."""
    if cfg.github_settings is not None and cfg.github_settings.app is not None:
        from runner.github.app_auth import connect_app

        connect_app(cfg.github_settings)


def _sync_clones(cfg: Config) -> None:
    """Clone or fetch the repositories given as URLs (`<state-dir>/clones/`), under the run lock."""
    if not cfg.remotes:
        return
    from runner.config.github import TokenError, api_url, read_token
    from runner.core.secrets import token_environ
    from runner.git.clones import CloneError, sync_all

    settings = cfg.github_settings
    try:
        if settings is not None:
            from runner.github.client import current_token

            token, url = current_token(settings), settings.api_url
        else:
            token = read_token(None) if token_environ().get("GITHUB_TOKEN", "").strip() else ""
            url = api_url()
        sync_all(cfg.remotes, cfg.state_dir, token, url)
    except (CloneError, TokenError) as exc:
        raise ConfigError(str(exc)) from None


@contextmanager
def _stop_on_signals(run: ProcessRun, ui):
    """First SIGINT/SIGTERM: finish in-flight issues and report; second: stop at once, but
    not before giving back a packed-refs.lock held in a repository (git refuses to write
    refs there while it exists)."""
    received = []

    def handler(signum, _frame):
        received.append(signum)
        if len(received) == 1:
            ui.note(f"{signal.Signals(signum).name}: finishing in-flight issues (again to stop at once)")
            run.request_stop(signal.Signals(signum).name)
        else:
            release_held_locks()
            os._exit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
