"""Command-line options that several commands share, declared once so they cannot drift apart."""

from __future__ import annotations

import typer

LOGIN_HELP = "runner's GitHub login, for a token that may not ask GitHub (github-actions[bot], an App's <slug>[bot])"
JSON_HELP = "the summary as one JSON object on stdout (people's output goes to stderr)"

QUIET = typer.Option(False, "--quiet", "-q", help="only errors and the summary (for cron)")
JSON = typer.Option(False, "--json", help=JSON_HELP)
LOGIN = typer.Option(None, "--login", help=LOGIN_HELP)
TOKEN_FILE = typer.Option(None, help="file holding the GitHub token [$GITHUB_TOKEN]")
APP_ID = typer.Option(None, help="act as this GitHub App (with --app-key-file) instead of a token")
APP_KEY_FILE = typer.Option(None, help="the GitHub App's private key (.pem)")
ISSUE = typer.Option([], "--issue", metavar="N", help="only issue N (repeatable)")
ISSUE_LABEL = typer.Option(
    [], "--issue-label", metavar="L", help="only issues with label L (repeatable: all must match; case-insensitive)"
)
EXCLUDE_LABEL = typer.Option(
    [], "--exclude-label", metavar="L", help="leave out issues with label L (repeatable: any excludes)"
)
SINCE = typer.Option(
    None, "--since", metavar="DATE", help="only issues updated (or created) at or after DATE (ISO 8601)"
)
