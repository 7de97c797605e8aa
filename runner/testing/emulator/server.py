"""`Emulator`, the emulator's process and its command line; the package docstring draws the flow."""

from __future__ import annotations

import argparse
import dataclasses
import re
import signal
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from runner.testing.emulator.config import EmulatorConfig
from runner.testing.emulator.http import App
from runner.testing.emulator.httpserver import EmulatorHTTPServer
from runner.testing.emulator.state import State

__all__ = ["Emulator", "EmulatorConfig", "main"]
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?$")


class Emulator:
    """An in-memory GitHub for the given ``OWNER/NAME -> bare git dir`` repositories.

    ``tokens``: None accepts any token (as the configured ``login``); a set accepts only
    those tokens, all belonging to ``login``; a mapping gives each token its own login.
    ``apps``: GitHub Apps by id, each given by its key (public, or the private PEM), installed
    on every repository owner; their installation tokens are accepted besides ``tokens``.
    """

    def __init__(
        self,
        repos: Mapping[str, Path | str],
        tokens: Iterable[str] | Mapping[str, str] | None = None,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        apps: Mapping[int, str | bytes] | None = None,
    ) -> None:
        self.state = State(repos)
        self.app = App(self.state, config or EmulatorConfig(), _token_logins(tokens))
        for app_id, key in (apps or {}).items():
            self.app.apps.add(app_id, key)
            for repo in self.state.repos.values():
                self.app.apps.install(app_id, repo.owner.login)
        self._address = (host, port)
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("emulator is not started")
        return self._url

    @property
    def config(self) -> EmulatorConfig:
        return self.app.config.get()

    def configure(self, **changes: Any) -> EmulatorConfig:
        """Change settings while running (same effect as POST /_emulator/config)."""
        return self.app.config.update(changes)

    @property
    def stats(self) -> dict[str, Any]:
        return self.app.stats_dict()

    def start(self) -> str:
        if self._server is not None:
            return self.url
        self._server = EmulatorHTTPServer(self._address, self.app)
        host, port = self._server.server_address[:2]
        assert isinstance(host, str), "a bound socket names its host as text"
        self._url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="github-emulator", daemon=True
        )
        self._thread.start()
        return self._url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _token_logins(tokens: Iterable[str] | Mapping[str, str] | None) -> dict[str, str | None] | None:
    if tokens is None:
        return None
    if isinstance(tokens, Mapping):
        return dict(tokens)
    return {token: None for token in tokens}


# -- command line -------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runner.testing.emulator.server", description="Serve a local emulation of the GitHub REST API."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--repo", action="append", required=True, metavar="OWNER/NAME=BARE_GIT_DIR")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="TOKEN[=LOGIN]",
        help="accepted token, optionally with its own login (repeatable)",
    )
    parser.add_argument("--token-file", type=Path, help="file with one accepted token per line ('TOKEN [LOGIN]')")
    parser.add_argument(
        "--app",
        action="append",
        default=[],
        metavar="APP_ID=KEY_PEM_FILE",
        help="a GitHub App and its (public or private) key, installed on every owner (repeatable)",
    )
    types = {"int": int, "float": float, "str": str}
    for item in dataclasses.fields(EmulatorConfig):
        flag = "--" + item.name.replace("_", "-")
        if item.type == "bool":
            parser.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction, default=None)
        else:
            parser.add_argument(flag, dest=item.name, type=types[str(item.type)], default=None)
    return parser


def _parse_repos(specs: Sequence[str]) -> dict[str, Path]:
    repos = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise ValueError(f"--repo expects OWNER/NAME=BARE_GIT_DIR, got {spec!r}")
        repos[name] = Path(path)
    return repos


def _parse_apps(specs: Sequence[str]) -> dict[int, bytes]:
    apps = {}
    for spec in specs:
        app_id, sep, path = spec.partition("=")
        if not sep or not app_id.isdigit() or not path:
            raise ValueError(f"--app expects APP_ID=KEY_PEM_FILE, got {spec!r}")
        apps[int(app_id)] = Path(path).read_bytes()
    return apps


def _parse_tokens(flags: Sequence[str], token_file: Path | None) -> dict[str, str | None]:
    """Accepted tokens and their logins (None: the configured login)."""
    pairs: list[tuple[str, str | None]] = []
    for flag in flags:
        token, sep, login = flag.rpartition("=")
        pairs.append((token, login) if sep and token and _LOGIN.match(login) else (flag, None))
    if token_file is not None:
        for number, line in enumerate(token_file.read_text().splitlines(), 1):
            words = line.split()
            if len(words) > 2 or (len(words) == 2 and not _LOGIN.match(words[1])):
                raise ValueError(f"{token_file}, line {number}: expected 'TOKEN [LOGIN]'")
            if words:
                pairs.append((words[0], words[1] if len(words) == 2 else None))
    return dict(pairs)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = {f.name: getattr(args, f.name) for f in dataclasses.fields(EmulatorConfig)}
    try:
        tokens = _parse_tokens(args.token, args.token_file)
        config = EmulatorConfig().with_changes({k: v for k, v in settings.items() if v is not None})
        emulator = Emulator(
            _parse_repos(args.repo), tokens or None, config, host=args.host, port=args.port, apps=_parse_apps(args.app)
        )
        url = emulator.start()
    except (OSError, ValueError) as error:
        print(f"github_emulator: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"listening on {url}", flush=True)
    while not stop.wait(0.5):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
