"""What runner itself last wrote on an issue's branch, so that a rerun compares its new
output with that, and not with the files the branch holds now.

    branch tip ──first parents──> the newest commit whose message ends with
                                  `Runner-Output: <digest>`: that digest
                                  (a runner commit from before the trailer, `Runner-Issue: N`:
                                   its plan directory's tree, which held only runner's files)

Why: people commit on runner's branches (a reviewer ticks a box in the plan, adds notes
next to it). Compared with the branch's files, runner's unchanged output looks changed,
and writing it again would undo their work. Compared with what runner wrote last time,
only a change of runner's own output (the issue was edited, the templates changed) makes
a new commit.

One persistent `git cat-file --batch` answers every look-up of a run's repository.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Mapping
from pathlib import Path

from runner.git.cmd import GitError, open_git

OUTPUT_TRAILER = "Runner-Output: "
ISSUE_TRAILER = "Runner-Issue: "
# How far back along first parents runner's own last commit is looked for; a branch with
# more commits by others on top than this gets a new commit, as if runner had none there.
MAX_WALK = 200


def output_digest(
    number: int, files: Mapping[str, bytes], changes: Mapping[str, bytes | None], modes: Mapping[str, str]
) -> str:
    """A digest of everything runner writes for an issue: its files, paths included."""
    parts = [b"%d\0" % number]
    for path in sorted(files):
        data = files[path]
        parts += (b"F %s %d\0" % (path.encode("utf-8", "surrogateescape"), len(data)), data)
    for path in sorted(changes):
        change = changes[path]
        mode = modes.get(path, "100644").encode()
        size = -1 if change is None else len(change)
        parts += (b"C %s %s %d\0" % (path.encode("utf-8", "surrogateescape"), mode, size), change or b"")
    return hashlib.blake2b(b"".join(parts), digest_size=20).hexdigest()


def with_output_trailer(message: str, digest: str) -> str:
    """The commit message with the digest as its last line (joining its trailer block when it has one)."""
    body = message.rstrip("\n")
    last = body.rpartition("\n")[2]
    separator = "\n" if ": " in last and "\n" in body else "\n\n"
    return f"{body}{separator}{OUTPUT_TRAILER}{digest}\n"


class ObjectHasher:
    """Git object ids computed locally, to compare an older runner commit's plan directory
    with new output without asking git."""

    def __init__(self, object_format: str) -> None:
        self.algorithm = "sha256" if object_format == "sha256" else "sha1"

    def blob(self, data: bytes) -> bytes:
        return hashlib.new(self.algorithm, b"blob %d\0" % len(data) + data).digest()

    def flat_tree(self, files: dict[str, bytes]) -> str:
        entries = sorted((name.encode(), self.blob(data)) for name, data in files.items())
        body = b"".join(b"100644 " + name + b"\0" + digest for name, digest in entries)
        return hashlib.new(self.algorithm, b"tree %d\0" % len(body) + body).hexdigest()


class ObjectReader:
    """A persistent `git cat-file --batch`: objects by name, with their content."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._proc: subprocess.Popen[bytes] | None = None

    def read(self, name: str) -> tuple[str, str, bytes] | None:
        """(object id, type, content) of `name` (`<commit>`, `<commit>:<path>`); None if missing."""
        proc = self._process()
        assert proc.stdin and proc.stdout
        proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        proc.stdin.flush()
        header = proc.stdout.readline()
        if not header:
            raise GitError("git cat-file stopped answering")
        fields = header.split()
        if len(fields) != 3:
            return None
        size = int(fields[2])
        data = proc.stdout.read(size + 1)
        if len(data) != size + 1:
            raise GitError("git cat-file stopped answering")
        return fields[0].decode(), fields[1].decode(), data[:size]

    def tree_id(self, commit: str, path: str) -> str | None:
        found = self.read(f"{commit}:{path}")
        return found[0] if found is not None and found[1] == "tree" else None

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = open_git(self.repo, "cat-file", "--batch")
        return self._proc

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None


def last_output(reader: ObjectReader, tip: str, number: int) -> tuple[str, str | None] | None:
    """(commit, digest) of runner's newest commit for issue `number` reachable from `tip` by
    first parents; digest None for a runner commit from before the trailer; None if there is none."""
    commit = tip
    for _ in range(MAX_WALK):
        found = reader.read(commit)
        if found is None or found[1] != "commit":
            return None
        parent, message = _parse_commit(found[2])
        digest, issue = _trailers(message)
        if digest is not None:
            return commit, digest
        if issue == number:
            return commit, None
        if parent is None:
            return None
        commit = parent
    return None


def _parse_commit(data: bytes) -> tuple[str | None, str]:
    head, _, message = data.partition(b"\n\n")
    parent = None
    for line in head.split(b"\n"):
        if line.startswith(b"parent "):
            parent = line[7:].decode()
            break
    return parent, message.decode("utf-8", "replace")


def _trailers(message: str) -> tuple[str | None, int | None]:
    """(Runner-Output digest, Runner-Issue number) from the message's last paragraph. The
    digest counts only as the very last line, where runner writes it."""
    lines = message.rstrip("\n").rpartition("\n\n")[2].split("\n")
    digest = lines[-1][len(OUTPUT_TRAILER) :].strip() if lines[-1].startswith(OUTPUT_TRAILER) else None
    issue = None
    for line in lines:
        if line.startswith(ISSUE_TRAILER) and line[len(ISSUE_TRAILER) :].strip().isdigit():
            issue = int(line[len(ISSUE_TRAILER) :].strip())
    return digest or None, issue
