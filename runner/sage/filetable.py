"""The code index's list of files, held by a sage: look-ups by path, name and module in dicts.

Every issue asks for a few hundred files' paths and kinds and looks up the paths, file
names and modules its text mentions; as SQLite queries that was half of a sage's queries per
issue. The table is read once per process, whatever the size of the files' text, which stays
on disk: paths and kinds for every index (about 170 bytes a file), and for a small one (see
`postings.MAX_TOKENS`) the look-ups too (about 630 bytes a file in all).

Answers are those of the queries they replace, in the same order: files with one name by
id, a delta's own files (numbered above its base's) before the base's.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable


class FileTable:
    """(id, path, kind, lower-case file name, module) of every file of one commit."""

    def __init__(
        self, rows: Iterable[tuple[int, bytes, str, bytes, str | None]], base_max: int, lookups: bool = True
    ) -> None:
        self.info: dict[int, tuple[str, str]] = {}
        self.by_path: dict[str, int] = {}
        names: dict[str, list[int]] = {}
        modules: dict[str, list[int]] = {}
        for fid, path, kind, file_name, module in sorted(rows, key=lambda r: (r[0] <= base_max, r[0])):
            text = path.decode("utf-8", "surrogateescape")
            self.info[fid] = (text, kind)
            if not lookups:
                continue
            self.by_path[text] = fid
            names.setdefault(file_name.decode("utf-8", "surrogateescape"), []).append(fid)
            if module is not None:
                modules.setdefault(module, []).append(fid)
        self.by_name = names
        self.by_module = modules
        self._sorted_names = sorted(names)
        self.factors: dict[int, float] = {}  # the ranking's weight of each file's kind, as it asks
        self.tests = frozenset(fid for fid, (_, kind) in self.info.items() if kind == "test")

    def named(self, name: str) -> list[int]:
        return list(self.by_name.get(name, ()))

    def stemmed(self, name: str) -> list[tuple[int, str]]:
        """(id, path) of files whose name is `name` and a dot and more, by name: the names from
        `name.` up to `name/` (the character after the dot), as the index's query ranges over them."""
        names = self._sorted_names
        start, end = bisect_left(names, f"{name}."), bisect_left(names, f"{name}/")
        return [(fid, self.info[fid][0]) for full in names[start:end] for fid in self.by_name[full]]
