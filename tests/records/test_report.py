"""runner.records.report: a report directory that cannot be written (finding 11).

The report is written last, after every branch and journal row: when its directory fills
up or refuses writes, the run must still end cleanly, say what failed and where and that
the work stands, leave no partial file behind, and exit 1. The failures here are real: a
full tmpfs, `/dev/full`, a file-size limit.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import branches, issue

from runner.records.journal import Journal
from runner.records.report import ReportError, ReportSink
from runner.sage.codeindex import load_or_build

DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full")


def record(number: int, status: str = "committed") -> dict:
    return {
        "number": number,
        "title": f"Crash {number} in parse_config",
        "status": status,
        "branch": f"runner/issue-{number}",
        "error": None,
    }


def fill_on_write(path: Path) -> None:
    """`path` becomes a name for /dev/full: it opens, and every write to it fails with ENOSPC."""
    path.symlink_to(DEV_FULL)


@needs_dev_full
def test_side_files_that_fill_up_stop_the_writing_not_the_counting(tmp_path):
    fill_on_write(tmp_path / ".r1.issues.jsonl")
    sink = ReportSink(tmp_path, "r1")
    for start in range(0, 600, 50):
        sink.add_issues([record(n, "failed" if n % 10 == 0 else "committed") for n in range(start, start + 50)])
    sink.add_invalid(1, 2, "no title")
    sink.add_skipped(3, 4, "pull request")
    assert sink.failure is not None and "No space left on device" in str(sink.failure)
    assert sink.totals["succeeded"] == 540 and sink.totals["failed"] == 60
    assert sink.totals["invalid"] == 1 and sink.totals["skipped"] == 1
    with pytest.raises(ReportError) as caught:
        sink.finish(1, {"metrics": {}})
    assert caught.value.report_dir == tmp_path and ".r1.issues.jsonl" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@needs_dev_full
@pytest.mark.parametrize("failing", ["r1.json.tmp", "r1.md.tmp"])
def test_a_report_that_cannot_be_written_leaves_neither_file_nor_partial_ones(tmp_path, failing):
    fill_on_write(tmp_path / failing)
    sink = ReportSink(tmp_path, "r1")
    sink.add_issues([record(n) for n in range(1, 2000)])
    with pytest.raises(ReportError) as caught:
        sink.finish(0, {"metrics": {"workers": 2}})
    assert "No space left on device" in str(caught.value) and failing in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_report_directory_that_cannot_be_made_is_a_usage_error(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    (tmp_path / "a-file").write_text("x")
    done = runner_cli("process", str(write_issues([issue(1, "a")])), "--repo", str(repo), reports="a-file/reports")
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert f"cannot write reports in {tmp_path / 'a-file' / 'reports'}" in err and "Traceback" not in err
    assert branches(repo) == {}


# --- a real run whose report directory fills up -------------------------------------------------


def issues_file(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text(
        "".join(json.dumps(issue(n, f"Crash {n} in create_session", "x " * 200)) + "\n" for n in range(1, count + 1))
    )
    return path


def private_mount_prefix(tmp_path: Path) -> list[str]:
    """`unshare` into a mount namespace of our own (and a user namespace when not root), where a
    tmpfs can be mounted and goes away with the process; skips when the system does not allow it."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare")
    prefix = [unshare, "--mount"] if os.geteuid() == 0 else [unshare, "--map-root-user", "--mount"]
    probe = tmp_path / "probe"
    probe.mkdir()
    tried = subprocess.run(
        [*prefix, "mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(probe)], capture_output=True
    )
    probe.rmdir()
    if tried.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a private namespace: {tried.stderr.decode().strip()}")
    return prefix


ON_TMPFS = 'mount -t tmpfs -o size="$1" tmpfs "$2" || exit 99; shift 2; "$@"; rc=$?; ls -A "$2" > "$LISTING"; exit $rc'


def runner_env(**extra: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **extra}


@pytest.mark.parametrize("size, what_fills", [("64k", "the JSON report"), ("16k", "the side file, mid-run")])
def test_a_run_whose_report_directory_fills_up_ends_clean_with_its_work_journaled(
    make_repo, tmp_path, size, what_fills
):
    prefix = private_mount_prefix(tmp_path)
    repo = make_repo()
    full, state, listing = tmp_path / "full", tmp_path / "state", tmp_path / "listing"
    full.mkdir()
    reports = full / "reports"
    argv = [
        sys.executable,
        "-m",
        "runner",
        "process",
        str(issues_file(tmp_path, 100)),
        "--repo",
        str(repo),
        "--state-dir",
        str(state),
        "--report-dir",
        str(reports),
        "-q",
    ]
    script = ON_TMPFS.replace('ls -A "$2"', f'ls -A "{reports}"')
    done = subprocess.run(
        [*prefix, "sh", "-c", script, "sh", size, str(full), *argv],
        capture_output=True,
        cwd=tmp_path,
        env=runner_env(LISTING=str(listing)),
        timeout=120,
    )
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "Traceback" not in err
    assert f"runner: error: the report could not be written in {reports}: No space left on device" in err
    assert "partial files were removed" in err and f"journal {state / 'journal.sqlite'}" in err
    assert "exit 1:" in err and "succeeded 100" in err and "no report" in err
    assert listing.read_text() == "", f"left in the report directory ({what_fills}): {listing.read_text()}"
    assert len(branches(repo)) == 100
    journal = Journal(state / "journal.sqlite")
    try:
        assert journal.counts() == {"done": 100}
        last = journal.runs(1)[0]
        assert (last["exit_code"], last["report"], last["totals"]["succeeded"]) == (1, None, 100)
    finally:
        journal.close()
    status = subprocess.run(
        [sys.executable, "-m", "runner", "status", "--state-dir", str(state)],
        capture_output=True,
        cwd=tmp_path,
        env=runner_env(),
    )
    assert "report: not written" in status.stdout.decode() and "done 100" in status.stdout.decode()


def test_a_file_size_limit_mid_run_ends_a_dry_run_clean(make_repo, tmp_path):
    """Without namespaces: RLIMIT_FSIZE makes the side file's writes fail (EFBIG) part-way."""
    repo = make_repo()
    reports = tmp_path / "reports"
    limit = 64 * 1024
    load_or_build(repo, "HEAD", tmp_path / "state" / "cache")  # the index is there before the limit

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "process",
            str(issues_file(tmp_path, 200)),
            "--repo",
            str(repo),
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(reports),
            "--dry-run",
            "-q",
        ],
        capture_output=True,
        cwd=tmp_path,
        env=runner_env(),
        preexec_fn=limited,
        timeout=120,
    )
    err = done.stderr.decode()
    assert done.returncode == 1, err
    assert "Traceback" not in err and "File too large" in err and "this was a dry run" in err
    assert "read 200" in err and "succeeded 200" in err
    assert list(reports.iterdir()) == []
