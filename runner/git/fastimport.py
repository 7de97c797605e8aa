"""One `git fast-import` process, fed commit by commit while the run goes on.

    collector ──add(item, parent)──> stdin ──> git fast-import ──> pack + objects
                                                     │ (as each command arrives)
    collector ──seal()──> get-mark per branch, `done`: git finishes the pack and the
                          refs of existing branches (new ones: runner.git.packedrefs)
    collector <──{branch: commit}── finish() (waits only if git has not finished yet)

Feeding each commit as its result arrives lets git build objects while the sages
are still working; sealing lets git finish one batch while the next batch is
already streaming. Nothing is final until `finish`: fast-import updates the refs
at the end, and refuses any that would not fast-forward.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Protocol

from runner.git.cmd import GitError, git_environ, last_line

# glibc gives the top of the heap back to the kernel whenever it frees enough, and
# fast-import frees and reallocates its compression buffers for every object: without
# a pad, over half of its CPU time went to the kernel growing and shrinking the heap.
# Other C libraries ignore the variable.
MALLOC_PADDING = {"MALLOC_TOP_PAD_": str(16 * 1024 * 1024)}

# Speed over pack size: no reflog for runner's branches; zlib level 1; and no deltas,
# since fast-import can only delta a blob against the one before it, another issue's
# plan. On 10,000 of the bench's commits: 2.97 -> 2.35 CPU-s, pack 13.7 -> 15.1 MB;
# the next `git gc` deltifies them properly. And a small batch stays a pack: below
# fastimport.unpackLimit objects (100 by default) fast-import starts `git unpack-objects`
# to explode it into loose object files, one inode each; a batch of 10 commits cost
# 17 ms of git CPU that way against 5 ms as a pack.
GIT_OPTIONS = ("-c", "core.logAllRefUpdates=false", "-c", "pack.compression=1", "-c", "fastimport.unpackLimit=0")
IMPORT_OPTIONS = ("--quiet", "--depth=0")

# Commits reach git in writes of this size rather than io's default 8 KiB (two of the
# bench's commits): a 2,000-issue run makes about 30 writes instead of about 950, each
# of which woke a fast-import process and made the collector give up the GIL and queue
# for it again. Measured on 2,000 issues: eight repositories 3-5% faster, one the same.
# Larger buffers leave git too much to do after the last result (1 MiB: eight repositories
# 11% slower than with 256 KiB).
STREAM_BUFFER = 256 * 1024

_NEEDS_ESCAPE = re.compile(rb'["\\\x00-\x1f\x7f]')

# Commits for branches that do not exist yet go on this ref, which a final `reset` with
# no `from` leaves unwritten: git keeps the objects and writes no ref, and the caller
# creates the branches (runner.git.packedrefs). A ref of this name, if any, is never touched.
HOLDING_REF = "refs/runner-import"

# Where a reference-transaction hook decides about ref updates, every commit goes on the
# holding ref and the caller moves every branch through `git update-ref`, where the hook
# runs. fast-import then updates no ref at all, yet still commits one empty transaction
# at its end; a hook that vetoes everything would make it die there and leave a crash
# report in the repository, so it runs without hooks: there is nothing for them to see.
NO_REF_OPTIONS = ("-c", "core.hooksPath=/dev/null")


class Commitable(Protocol):
    @property
    def branch(self) -> str: ...
    @property
    def directory(self) -> str: ...
    @property
    def files(self) -> dict[str, bytes]: ...
    @property
    def message(self) -> str: ...
    @property
    def changes(self) -> dict[str, bytes | None]: ...
    @property
    def modes(self) -> dict[str, str]: ...


class RefsRejected(GitError):
    """fast-import wrote the commits but refused some ref updates (never forced)."""

    def __init__(self, commits: dict[str, str], message: str) -> None:
        super().__init__(message)
        self.commits = commits


class ImportStream:
    """A fast-import process for one batch; `add` commits, then `finish` once.

    fast-import's default of five active branches is kept: every branch here gets
    one commit, and holding a thousand branch trees in memory measured 40% more CPU
    than reloading the base.
    """

    def __init__(self, repo: Path, name: str, email: str, write_refs: bool = True) -> None:
        self._who = f"{name} <{email}>"
        self._write_refs = write_refs
        self._stamp = b""
        self._marks: dict[str, int] = {}
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 - git writes to it until close()
        self._proc = subprocess.Popen(
            [
                "git",
                "-C",
                str(repo),
                *GIT_OPTIONS,
                *(() if write_refs else NO_REF_OPTIONS),
                "fast-import",
                *IMPORT_OPTIONS,
            ],
            bufsize=STREAM_BUFFER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env={**git_environ(), **MALLOC_PADDING},
            start_new_session=True,
        )
        stdin, stdout = self._proc.stdin, self._proc.stdout
        assert stdin is not None and stdout is not None
        self._stdin, self._stdout = stdin, stdout
        self._broken = False
        self._holding = False
        self._reader: threading.Thread | None = None
        self._answers = b""
        self._send(b"feature done\n")

    def __len__(self) -> int:
        return len(self._marks)

    def add(self, item: Commitable, parent: str, new_branch: bool = False, message: str | None = None) -> None:
        """Stream one commit (with `message` instead of the item's, if given); a `new_branch`
        commit is written but its branch is not (nor any branch, when this stream writes no refs)."""
        if not self._stamp:
            self._stamp = f"{self._who} {int(time.time())} +0000".encode()
        mark = len(self._marks) + 1
        self._marks[item.branch] = mark
        holding = new_branch or not self._write_refs
        ref = HOLDING_REF if holding else "refs/heads/" + item.branch
        self._holding |= holding
        self._send(commit_command(item, parent, mark, self._stamp, ref, message))

    def seal(self) -> None:
        """Send the last commands and close git's input; git then finishes on its own
        (its last objects, the pack index, the refs) while the caller goes on."""
        if self._reader is not None:
            return
        self._reader = threading.Thread(target=self._read_answers, name="runner-fast-import", daemon=True)
        self._reader.start()
        release = b"reset %s\n\n" % HOLDING_REF.encode() if self._holding else b""
        self._send(release + b"".join(b"get-mark :%d\n" % mark for mark in self._marks.values()) + b"done\n")
        try:
            self._stdin.close()
        except (BrokenPipeError, ValueError):
            self._broken = True

    def done(self) -> bool:
        """Sealed and git has exited: `finish` will not wait."""
        return self._reader is not None and not self._reader.is_alive()

    def finish(self) -> dict[str, str]:
        """{branch: commit} for every branch added. Raises RefsRejected (commits written,
        some refs refused) or GitError (the process failed)."""
        self.seal()
        assert self._reader is not None
        self._reader.join()
        self._errors.seek(0)
        errors = self._errors.read()
        self._errors.close()
        answers = self._answers.decode().split()
        if len(answers) != len(self._marks):
            raise GitError("fast-import failed: " + last_line(errors))
        commits = dict(zip(self._marks, answers, strict=False))
        if self._proc.returncode != 0:
            raise RefsRejected(commits, last_line(errors))
        return commits

    def abandon(self) -> None:
        """Stop without updating any ref (fast-import only writes refs at `done` or a checkpoint)."""
        if self._proc.returncode is None:
            self._proc.kill()
        if self._reader is not None:
            self._reader.join()
        else:
            self._proc.communicate()
        self._errors.close()

    def _read_answers(self) -> None:
        """Read git's answers as they come, so a long list of marks can never fill its pipe."""
        self._answers = self._stdout.read()
        self._stdout.close()
        self._proc.wait()

    def _send(self, data: bytes) -> None:
        if self._broken:
            return
        try:
            self._stdin.write(data)
        except (BrokenPipeError, ValueError):
            self._broken = True


def commit_command(
    item: Commitable, parent: str, mark: int, stamp: bytes, ref: str, message_text: str | None = None
) -> bytes:
    message = (item.message if message_text is None else message_text).encode("utf-8", "replace")
    parts = [
        b"commit %s\n" % ref.encode(),
        b"mark :%d\n" % mark,
        b"author " + stamp + b"\n",
        b"committer " + stamp + b"\n",
        b"data %d\n" % len(message),
        message,
        b"\n",
        b"from %s\n" % parent.encode(),
    ]
    if item.changes and not item.files and item.directory:
        # a fixer's commit without the plan: a plan an earlier run committed on the branch goes,
        # so the branch's diff against its base is only the change
        parts.append(b"D %s\n" % quote_path(item.directory))
    for path, data in sorted(item.changes.items()):
        if data is None:
            parts.append(b"D %s\n" % quote_path(path))
        else:
            mode = item.modes.get(path, "100644").encode()
            parts += [b"M %s inline %s\n" % (mode, quote_path(path)), b"data %d\n" % len(data), data, b"\n"]
    for path, data in sorted(item.files.items()):
        parts += [b"M 100644 inline %s\n" % quote_path(path), b"data %d\n" % len(data), data, b"\n"]
    parts.append(b"\n")
    return b"".join(parts)


def quote_path(path: str) -> bytes:
    """A path in git's C-style quotes, so no byte of it can end a fast-import command."""
    raw = path.encode("utf-8", "surrogateescape")
    if not _NEEDS_ESCAPE.search(raw):
        return b'"' + raw + b'"'
    out = bytearray(b'"')
    for byte in raw:
        if byte in (0x22, 0x5C):
            out += b"\\" + bytes([byte])
        elif byte < 0x20 or byte == 0x7F:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    out += b'"'
    return bytes(out)
