"""Which directory names git accepts in a tree, by git's own rules.

A tree entry git calls invalid makes the branch impossible to check out ("invalid path")
and a remote that checks what it receives (`receive.fsckObjects`, as GitHub does)
refuses the push. So a path runner writes into is checked up front, component by
component, the way git's `verify_path` and `fsck` check tree entries (read-cache.c,
fsck.c, path.c, utf8.c): no empty name, `.` or `..`; no `.git` in any case, nor one of
the names NTFS or HFS+ would open as `.git` (`.git` followed by spaces or dots,
`git~1`, `.git` with code points HFS+ ignores inside it); and no directory named like
`.gitmodules` or `.gitattributes`, whose entries fsck requires to be files. Backslashes
(a directory separator on Windows) and control characters are refused too.
"""

from __future__ import annotations

# Code points HFS+ ignores when it compares names (git's utf8.c next_hfs_char).
_HFS_IGNORED = frozenset(
    "\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u206a\u206b\u206c\u206d\u206e\u206f\ufeff"
)
# (name after the dot, the start of its NTFS 8.3 fall-back short name), as in git's path.c.
_FSCK_FILES = (("gitmodules", "gi7eba"), ("gitattributes", "gi7d29"))
MAX_COMPONENT_BYTES = 255


def component_problem(name: str) -> str | None:
    """Why git would refuse `name` as a directory in a tree; None when it is fine."""
    if not name:
        return "is empty (a doubled or leading '/')"
    if name in (".", ".."):
        return "is '.' or '..'"
    if "\\" in name:
        return "contains a backslash (a directory separator on Windows)"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "contains a control character"
    if len(name.encode("utf-8", "surrogateescape")) > MAX_COMPONENT_BYTES:
        return f"is longer than {MAX_COMPONENT_BYTES} bytes"
    if _ascii_lower(name) == ".git" or _is_hfs_dot(name, "git") or _is_ntfs_dotgit(name):
        return "names .git (in some letter case, or spelt so that NTFS or HFS+ opens .git)"
    for needle, short in _FSCK_FILES:
        if _is_hfs_dot(name, needle) or _is_ntfs_dot(name, needle, short):
            return f"names .{needle} (in some letter case or NTFS or HFS+ spelling), which git requires to be a file"
    return None


def path_problem(path: str) -> tuple[str, str] | None:
    """(component, why) for the first component of a `/`-separated path git would refuse."""
    for name in path.split("/"):
        why = component_problem(name)
        if why is not None:
            return name, why
    return None


def _is_hfs_dot(name: str, needle: str) -> bool:
    """`.` + needle once the code points HFS+ ignores are dropped, in any ASCII case."""
    kept = "".join(c for c in name if c not in _HFS_IGNORED)
    return kept[:1] == "." and kept[1:].isascii() and kept[1:].lower() == needle


def _is_ntfs_dotgit(name: str) -> bool:
    """`.git` or its short name `git~1`, then only spaces and dots (or an NTFS stream, `:`)."""
    lower = _ascii_lower(name)
    for head in (".git", "git~1"):
        if lower.startswith(head):
            return _only_spaces_and_dots(name[len(head) :])
    return False


def _is_ntfs_dot(name: str, needle: str, short: str) -> bool:
    """git's is_ntfs_dot_generic: `.needle`, its 8.3 short name (`gitmod~1` to `~4`), or a
    fall-back short name (up to six characters of `short`, `~`, a digit 1-9, digits: eight in all)."""
    lower = _ascii_lower(name)
    if lower.startswith("." + needle):
        return _only_spaces_and_dots(name[len(needle) + 1 :])
    if lower[:6] == needle[:6] and name[6:7] == "~" and "1" <= name[7:8] <= "4":
        return _only_spaces_and_dots(name[8:])
    if len(name) < 8:
        return False
    i, saw_tilde = 0, False
    while i < 8:
        c = lower[i]
        if saw_tilde:
            if not "0" <= c <= "9":
                return False
        elif c == "~":
            i += 1
            if not "1" <= lower[i] <= "9":
                return False
            saw_tilde = True
        elif i >= 6 or c != short[i]:
            return False
        i += 1
    return _only_spaces_and_dots(name[i:])


def _only_spaces_and_dots(rest: str) -> bool:
    """What may follow a reserved name on NTFS: spaces and dots, up to the end or a stream (`:`)."""
    return all(c in " ." for c in rest.split(":", 1)[0])


def _ascii_lower(text: str) -> str:
    """Lower case as git's tolower does it: ASCII letters only, so positions never shift."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}
