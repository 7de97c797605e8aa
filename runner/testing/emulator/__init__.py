"""The GitHub emulator: a local GitHub REST API for tests and benchmarks, spoken to by the real PyGithub.

    Github(base_url=emulator.url) ──HTTP──> EmulatorHTTPServer ──> App.dispatch (http)
                                                                    │ faults, auth, rate limits
                                                                    ▼
                                                  endpoints (api) ──> State (state)
                                                                    │                 │
                                                    JSON shapes (shapes)   bare git repos
                                                                                    (git)

Usage from Python::

    with Emulator({"acme/widgets": bare_dir}, tokens={"t0k"}) as emulator:
        gh = Github(base_url=emulator.url, auth=Auth.Token("t0k"), retry=None)

From a shell::

    python -m runner.testing.github_emulator --port 0 --repo acme/widgets=/path/to/bare.git --token-file tokens.txt

A token may name its own user: ``--token TOKEN=LOGIN``, or a ``TOKEN LOGIN`` line in the token
file, so a test can act as runner and as someone else. A login ending in ``[bot]`` stands for a
GitHub App installation token: like GitHub, ``GET /user`` refuses it (403).

GitHub Apps: ``Emulator(..., apps={APP_ID: key_pem})`` (``--app APP_ID=KEY_PEM_FILE``) registers an
App, installed on every repository owner; it calls ``GET /repos/{o}/{r}/installation`` and ``POST
/app/installations/{id}/access_tokens`` with its RS256 JWT and gets ``<slug>[bot]`` tokens that expire
after ``installation_token_lifetime_s`` emulated seconds (module apps). Each repository is also a git
remote at ``<url>/OWNER/NAME.git`` (smart HTTP, module githttp); a push there needs a valid token.

The API is served at the root (base_url "http://127.0.0.1:PORT") and, like GitHub Enterprise,
under "/api/v3"; the URLs in answers keep whichever prefix the request used.
Control endpoints: GET/POST /_emulator/config, GET/DELETE /_emulator/stats, POST /_emulator/reset-limits.

Modules: server (Emulator, the command line), httpserver (the sockets), http (one request, in
order), routing (route table, pagination), api and pulls (the endpoints; params reads their
arguments), app_api and apps (GitHub Apps), githttp (git over HTTP), state (the data), shapes
(GitHub's JSON), limits (rate limits, faults, statistics), config (settings, emulated time),
errors, git.
"""

from __future__ import annotations

from runner.testing.emulator.config import EmulatorConfig
from runner.testing.emulator.server import Emulator, main

__all__ = ["Emulator", "EmulatorConfig", "main"]
