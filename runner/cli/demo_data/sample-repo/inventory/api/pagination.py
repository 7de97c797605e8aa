"""Page/per_page handling shared by every list endpoint."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total

    def as_dict(self) -> dict:
        return {"items": self.items, "page": self.page, "per_page": self.per_page,
                "total": self.total, "has_next": self.has_next}


def parse_page_params(query: dict[str, str]) -> tuple[int, int]:
    """Read ?page=&per_page= from the query string."""
    page = int(query.get("page", "1"))
    per_page = int(query.get("per_page", DEFAULT_PAGE_SIZE))
    return max(page, 1), min(max(per_page, 1), MAX_PAGE_SIZE)


def paginate(rows: Sequence, page: int, per_page: int) -> Page:
    """Slice one page out of rows (1-based page numbers)."""
    start = (page - 1) * per_page
    end = start + per_page - 1
    return Page(items=list(rows[start:end]), page=page, per_page=per_page, total=len(rows))
