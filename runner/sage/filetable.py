"""The code index's list of files, held by a sage: look-ups by path, name and module in dicts.

Every issue asks for a few hundred files' paths and kinds and looks up the paths, file
names and modules its text mentions; as SQLite queries that was half of a sage's queries per
issue. The table is small (about 750 bytes a file: 12 MB for 16,000 files) and read once
per process, whatever the size of the files' text, which stays on disk.

Answers are those of the queries they replace, in the same order: files with one name by
id, a delta's own files (numbered above its base's) before the base's.
"""

from __future__ import annotations

from collections.abc import Iterable


class FileTable:
    """(id, path, kind, lower-case file name, module) of every file of one commit."""

    def __init__(self, rows: Iterable[tuple[int, bytes, str, bytes, str | None]], base_max: int) -> None:
        self.info: dict[int, tuple[str, str]] = {}
        self.by_path: dict[str, int] = {}
        names: dict[str, list[int]] = {}
        modules: dict[str, list[int]] = {}
        for fid, path, kind, file_name, module in sorted(rows, key=lambda r: (r[0] <= base_max, r[0])):
            text = path.decode("utf-8", "surrogateescape")
            self.info[fid] = (text, kind)
            self.by_path[text] = fid
            names.setdefault(file_name.decode("utf-8", "surrogateescape"), []).append(fid)
            if module is not None:
                modules.setdefault(module, []).append(fid)
        self.by_name = names
        self.by_module = modules
        stems: dict[str, list[str]] = {}
        for name in sorted(names):
            stem, dot, _ = name.partition(".")
            if dot:
                stems.setdefault(stem, []).append(name)
        self._stems = stems
        self.factors: dict[int, float] = {}  # the ranking's weight of each file's kind, as it asks

    def named(self, name: str) -> list[int]:
        return list(self.by_name.get(name, ()))

    def stemmed(self, name: str) -> list[tuple[int, str]]:
        """(id, path) of files whose name starts with `name` and a dot, by name then id (`name` holds no dot)."""
        return [(fid, self.info[fid][0]) for full in self._stems.get(name, ()) for fid in self.by_name[full]]
