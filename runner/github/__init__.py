"""Everything that speaks to GitHub, paced and exactly once.

    committed branches ──> (the run's publishing thread) ──> publisher.Publisher
                                                              │ push (git), draft PR, labels,
                                                              │ one comment; looks before it writes
                             pacing.Pacer (budget) <──────────┤ content writes paced to the limits
                             breaker.CircuitBreaker <─────────┘ stops a storm of failures
    runner fetch ──> fetch_command ──> fetch (paginated, ETag-cached) ──> issues as JSON Lines

push sends the branches; markers are the hidden marks by which the publisher finds its own
comments and sees edited descriptions; client builds the PyGithub client; app_auth acts as a
GitHub App (installation tokens, renewed before they expire); identity finds runner's own login.
GitHub's rate-limit answers are read in one place, `runner.core.ratelimit`, because the shared
retry policy needs them too; the thread that feeds the publisher is the run's
(`runner.run.publishing`).
"""

from __future__ import annotations

from runner.github.breaker import CircuitBreaker
from runner.github.client import make_github

__all__ = ["CircuitBreaker", "make_github"]
