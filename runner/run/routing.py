"""Which clone an issue goes to, or why it goes to none.

A clone holds the issues of one GitHub repository: its branch names
(`runner/issue-<number>`), plan directories, the run's ledger and the journal
know an issue by its clone and its number alone, so two repositories' issue #5
in one clone would share a branch and overwrite each other. The repository of
each clone:

    --repo OWNER/NAME=PATH, [repos] OWNER/NAME    that repository
    --repo PATH with --github OWNER/NAME          OWNER/NAME (where it publishes)
    --repo PATH alone                             the first repository the input names for it

An item of any other repository is skipped with the reason, never re-homed: on
GitHub its number names another issue. An item without `repository_url` belongs
to the plain `--repo PATH` clone's repository.

The input is scanned once before any work starts (`source.scan` calls `key` for
every item in order), so "the first repository the input names" is settled before
the first issue is routed, and every later call gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runner.config import Config


@dataclass(frozen=True)
class Route:
    """A clone key ("" for the plain `--repo PATH`) and the repository it holds (None: not known,
    no item names one), or key None and the reason the item is skipped."""

    key: str | None
    reason: str | None = None
    repository: str | None = None


class Router:
    def __init__(
        self,
        mapped: Iterable[str],
        has_default: bool,
        default_repository: str | None = None,
        default_label: str = "--repo PATH",
    ) -> None:
        self.mapped = frozenset(mapped)
        self.has_default = has_default
        self.default_repository = default_repository
        self.named_by_github = default_repository is not None
        self.default_label = default_label

    @classmethod
    def from_config(cls, config: Config) -> Router:
        label = config.remotes.get("") or (str(config.default_repo) if config.default_repo else "")
        return cls(
            config.repos,
            config.default_repo is not None,
            config.github if config.default_repo is not None else None,
            f"--repo {label}",
        )

    def key(self, repository: str | None) -> str | None:
        """The clone key for an item naming `repository` (None: skipped); the scan's repeat key."""
        return self.route(repository).key

    def route(self, repository: str | None) -> Route:
        if repository in self.mapped:
            return Route(repository, repository=repository)
        if not self.has_default:
            return Route(None, self._unmapped(repository))
        if self.default_repository is None and repository is not None:
            self.default_repository = repository
        if repository is None or repository == self.default_repository:
            return Route("", repository=self.default_repository)
        return Route(None, self._foreign(repository))

    def _unmapped(self, repository: str | None) -> str:
        if repository is None:
            return "the item names no repository (no repository_url) and no plain --repo PATH was given"
        return (
            f"repository {repository} is not configured: map it to a clone with "
            f"--repo {repository}=PATH (or [repos] in runner.toml)"
        )

    def _foreign(self, repository: str) -> str:
        why = "--github" if self.named_by_github else "the first repository the input names"
        return (
            f"repository {repository} is not configured: {self.default_label} holds the issues of "
            f"{self.default_repository} ({why}); map {repository} to its own clone with --repo {repository}=PATH"
        )
