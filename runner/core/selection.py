"""Which issues of the input a run takes: `--issue`, `--issue-label`, `--exclude-label`, `--since`, `--limit`.

The filters are plain predicates on an issue, checked by the intake after routing.
`--limit N` is not one: it keeps the N highest-priority issues of the whole input
that pass the filters (ties to the earlier one in the input, the queue's own
order), which the intake finds in a pass of its own before it queues anything
(runner.run.intake), so a backlog read as a stream still gives its most urgent N,
not its first N.

An issue left out is counted under its filter's name (`not_selected` in the
report, and in the `skipped` total), not listed: a 10,000-issue backlog filtered
to five would otherwise list 9,995 lines nobody reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from runner.core.models import Issue


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or time as an aware UTC datetime (naive = UTC); ValueError if it is none."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Selection:
    """The user's choice of issues; the empty selection takes every issue."""

    numbers: frozenset[int] = frozenset()
    labels: tuple[str, ...] = ()
    exclude_labels: tuple[str, ...] = ()
    since: datetime | None = None
    limit: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.numbers or self.labels or self.exclude_labels or self.since or self.limit)

    @property
    def partial(self) -> bool:
        """Leaves out issues the user still wants another time (`--issue`, `--limit`): a nightly
        run with it does not move its `since` mark, so the rest is fetched again next time."""
        return bool(self.numbers) or self.limit is not None

    def left_out_by(self, issue: Issue) -> str | None:
        """The option that leaves `issue` out (its name in the report), or None if it is taken."""
        if self.numbers and issue.number not in self.numbers:
            return "--issue"
        if self.labels or self.exclude_labels:
            have = {label.strip().lower() for label in issue.labels}
            if not have.issuperset(self.labels):
                return "--issue-label"
            if have.intersection(self.exclude_labels):
                return "--exclude-label"
        if self.since is not None and not self._recent(issue.updated_at):
            return "--since"
        return None

    def _recent(self, updated_at: str | None) -> bool:
        """Updated (and so created) at or after `since`; an issue without a readable time is not."""
        assert self.since is not None
        try:
            return updated_at is not None and parse_time(updated_at) >= self.since
        except ValueError:
            return False
