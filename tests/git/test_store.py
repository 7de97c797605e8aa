"""The git writer: commits without a checkout, serialized across processes, never forced."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import branches, git, issue, latest_report, user_state

from runner.core.models import Identity
from runner.git.store import ObjectHasher, RepoWriter, WriteItem

pytestmark = pytest.mark.timeout(120)

WRITER_SCRIPT = """
import sys
from pathlib import Path
from runner.core.models import Identity
from runner.git.store import RepoWriter, WriteItem
repo, start, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
writer = RepoWriter(repo, Identity(), "runner/issue-", None)
for n in range(start, start + count):
    d = f".runner/issues/{n}"
    out = writer.write([WriteItem(n, f"runner/issue-{n}", d, {f"{d}/PLAN.md": b"plan %d" % n}, f"plan {n}")])
    assert out[0].status == "committed", out
"""


def item(n: int, text: bytes = b"plan") -> WriteItem:
    directory = f".runner/issues/{n}"
    return WriteItem(n, f"runner/issue-{n}", directory, {f"{directory}/PLAN.md": text}, f"plan for {n}\n")


def test_commits_unchanged_and_new_commit_on_top(make_repo):
    repo = make_repo()
    before = user_state(repo)
    writer = RepoWriter(repo, Identity("Bot", "bot@example.com"), "runner/issue-", None)
    first = writer.write([item(1), item(2)])
    assert [o.status for o in first] == ["committed", "committed"]
    assert branches(repo) == {"runner/issue-1": first[0].commit, "runner/issue-2": first[1].commit}
    again = writer.write([item(1), item(2, b"changed")])
    assert again[0].status == "unchanged" and again[0].commit == first[0].commit
    assert again[1].status == "committed"
    assert git(repo, "rev-parse", f"{again[1].commit}^") == first[1].commit
    assert user_state(repo) == before
    writer.close()


def test_local_tree_hash_matches_git(make_repo):
    repo = make_repo()
    files = {"PLAN.md": b"a\n", "NOTES.md": b"b\n"}
    blob_ids = [git(repo, "hash-object", "-w", "--stdin", input=data) for data in files.values()]
    listing = "".join(f"100644 blob {oid}\t{name}\n" for oid, name in zip(blob_ids, files, strict=False))
    assert ObjectHasher("sha1").flat_tree(files) == git(repo, "mktree", input=listing.encode())


def test_a_branch_moved_by_someone_else_is_never_forced(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    writer.write([item(1)])
    git(repo, "branch", "-f", "runner/issue-1", "main")
    git(repo, "commit-tree", "-m", "elsewhere", "main^{tree}")
    side = git(repo, "commit-tree", "-p", "main", "-m", "side work", "main^{tree}")
    git(repo, "update-ref", "refs/heads/runner/issue-1", side)
    outcome = writer.write([item(1, b"new text")])[0]
    assert outcome.status == "committed"
    assert git(repo, "rev-parse", f"{outcome.commit}^") == side


def test_parallel_writer_processes_keep_every_ref(make_repo):
    repo = make_repo()
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER_SCRIPT, str(repo), str(start), "40"])
        for start in (1, 1001, 2001)
    ]
    assert [p.wait(timeout=100) for p in procs] == [0, 0, 0]
    made = branches(repo)
    assert len(made) == 120
    for n in (1, 40, 1001, 1040, 2001, 2040):
        assert git(repo, "show", f"runner/issue-{n}:.runner/issues/{n}/PLAN.md") == f"plan {n}"
    git(repo, "fsck", "--no-dangling")


def test_concurrent_runs_with_separate_state_dirs_share_one_repository(make_repo, write_issues, tmp_path):
    repo = make_repo()
    env_argv = [sys.executable, "-m", "runner", "process"]
    runs = []
    for k in range(2):
        items = [issue(k * 100 + n, f"issue {n} of run {k}", "login session") for n in range(1, 31)]
        path = write_issues(items, name=f"issues{k}.json")
        runs.append(
            subprocess.Popen(
                [
                    *env_argv,
                    str(path),
                    "--repo",
                    str(repo),
                    "--state-dir",
                    str(tmp_path / f"state{k}"),
                    "--report-dir",
                    str(tmp_path / f"reports{k}"),
                    "--workers",
                    "1",
                    "-q",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    assert [p.wait(timeout=100) for p in runs] == [0, 0]
    assert len(branches(repo)) == 60
    for k in range(2):
        assert latest_report(tmp_path / f"reports{k}")["totals"]["succeeded"] == 30
    git(repo, "fsck", "--no-dangling")


def test_runs_without_any_git_identity(make_repo, tmp_path):
    repo = make_repo()
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "from pathlib import Path; from runner.core.models import Identity; "
        "from runner.git.store import RepoWriter, WriteItem;"
        f"w = RepoWriter(Path({str(repo)!r}), Identity(), 'runner/issue-', None);"
        "print(w.write([WriteItem(5, 'runner/issue-5', '.runner/issues/5', "
        "{'.runner/issues/5/PLAN.md': b'x'}, 'm')])[0].status)"
    )
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "GIT_CONFIG_NOSYSTEM": "1", "XDG_CONFIG_HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "committed", out.stderr
    assert Path(repo).is_dir()


def test_next_batch_streams_while_git_finishes_the_sealed_one(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    first = writer.open_batch()
    for n in (1, 2, 3):
        first.add(item(n))
    first.seal()
    second = writer.open_batch()
    for n in (4, 5):
        second.add(item(n))
    outcomes = second.close() + first.close()
    assert [o.status for o in outcomes] == ["committed"] * 5
    assert set(branches(repo)) == {f"runner/issue-{n}" for n in range(1, 6)}
    again = writer.write([item(n) for n in range(1, 6)])
    assert [o.status for o in again] == ["unchanged"] * 5
    git(repo, "fsck", "--no-dangling")


def test_git_failing_mid_batch_fails_every_item_and_moves_no_branch(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    batch = writer.open_batch()
    batch.add(item(1))
    bad = WriteItem(2, "runner/issue-2", ".runner/issues/2", {}, "m", changes={"x": b"y"}, modes={"x": "999999"})
    batch.add(bad)
    batch.add(item(3))
    outcomes = batch.close()
    assert [o.status for o in outcomes] == ["failed"] * 3
    assert all(o.error.startswith("git: ") for o in outcomes)
    assert branches(repo) == {}
    assert [o.status for o in writer.write([item(1), item(3)])] == ["committed", "committed"]


@pytest.mark.timeout(180)
def test_a_batch_larger_than_a_pipe_of_answers_completes(make_repo):
    """Each commit id comes back on git's output; 2,000 of them overflow a 64 KiB pipe."""
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    outcomes = writer.write([item(n) for n in range(1, 2001)])
    assert {o.status for o in outcomes} == {"committed"}
    assert len(branches(repo)) == 2000


def test_new_branches_are_packed_refs_and_git_reads_them(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    assert [o.status for o in writer.write([item(n) for n in range(1, 51)])] == ["committed"] * 50
    assert not (repo / ".git" / "refs" / "heads" / "runner").exists()
    assert not (repo / ".git" / "refs" / "runner-import").exists()
    assert len(branches(repo)) == 50
    assert git(repo, "show", "runner/issue-7:.runner/issues/7/PLAN.md") == "plan"
    git(repo, "fsck", "--no-dangling")
    first = branches(repo)["runner/issue-1"]
    again = writer.write([item(n, b"second") for n in (1, 2)])
    assert [o.status for o in again] == ["committed", "committed"]
    assert git(repo, "rev-parse", "runner/issue-1^") == first
    assert git(repo, "show", "runner/issue-1:.runner/issues/1/PLAN.md") == "second"


def test_a_branch_created_while_its_batch_streams_is_built_on_not_replaced(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    batch = writer.open_batch()
    batch.add(item(1))
    batch.add(item(2))
    theirs = git(repo, "commit-tree", "-p", "main", "-m", "someone else's", "main^{tree}")
    git(repo, "update-ref", "refs/heads/runner/issue-2", theirs, "")
    outcomes = batch.close()
    assert [o.status for o in outcomes] == ["committed", "committed"]
    assert git(repo, "rev-parse", "runner/issue-2^") == theirs
    assert git(repo, "show", "runner/issue-2:.runner/issues/2/PLAN.md") == "plan"
    git(repo, "fsck", "--no-dangling")


def test_a_branch_name_git_refuses_fails_alone(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    bad = WriteItem(2, "runner/issue-2..bad", ".runner/issues/2", {".runner/issues/2/PLAN.md": b"x"}, "m")
    outcomes = writer.write([item(1), bad, item(3)])
    assert [o.status for o in outcomes] == ["committed", "failed", "committed"]
    assert set(branches(repo)) == {"runner/issue-1", "runner/issue-3"}


def test_a_run_writer_starts_its_first_fast_import_at_open_and_commits_through_it(make_repo):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None, stream_ahead=True)
    ahead = writer._spare
    assert ahead is not None and ahead._proc.poll() is None
    time.sleep(1.1)
    before_add = int(time.time())
    outcome = writer.write([item(1)])[0]
    writer.close()
    assert outcome.status == "committed" and ahead._proc.returncode == 0 and writer._spare is None
    assert int(git(repo, "log", "-1", "--format=%ct", "runner/issue-1")) >= before_add
    assert git(repo, "show", "runner/issue-1:.runner/issues/1/PLAN.md") == "plan"


def test_an_unused_fast_import_started_ahead_leaves_nothing_behind(make_repo):
    repo = make_repo()
    refs_before = git(repo, "for-each-ref")
    pack_dir = repo / ".git" / "objects" / "pack"
    writer = RepoWriter(repo, Identity(), "runner/issue-", None, stream_ahead=True)
    ahead = writer._spare
    deadline = time.monotonic() + 10
    while not any(p.name.startswith("tmp_pack") for p in pack_dir.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.close()
    assert ahead._proc.returncode == 0
    assert list(pack_dir.iterdir()) == [] and git(repo, "for-each-ref") == refs_before


def test_a_dry_run_writer_starts_no_fast_import(make_repo):
    writer = RepoWriter(make_repo(), Identity(), "runner/issue-", None, dry_run=True, stream_ahead=True)
    assert writer._spare is None
    writer.close()


def git_dir_listing(repo: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(repo)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted((repo / ".git").rglob("*"))
        if p.is_file()
    }


def test_a_dry_run_writer_takes_no_lock_and_writes_nothing_in_the_git_dir(make_repo):
    """B22: a dry run works on a clone it may not write to."""
    repo = make_repo()
    RepoWriter(repo, Identity(), "runner/issue-", None).write([item(1)])
    before = git_dir_listing(repo)
    writer = RepoWriter(repo, Identity(), "runner/issue-", None, dry_run=True, stream_ahead=True)
    outcomes = writer.write([item(1), item(1, b"changed"), item(2)])
    writer.close()
    assert [o.status for o in outcomes] == ["unchanged", "committed", "committed"]
    assert git_dir_listing(repo) == before


def test_a_dry_run_on_a_read_only_clone_analyses_every_issue(make_repo, write_issues, tmp_path):
    """B22 with a real read-only mount: a private mount namespace binds the clone read-only."""
    repo = make_repo()
    mount = tmp_path / "ro"
    mount.mkdir()
    issues = write_issues([issue(1, "Login fails", "app/auth/login.py"), issue(2, "Export breaks")])
    runner = [
        sys.executable,
        "-m",
        "runner",
        "process",
        str(issues),
        "--repo",
        str(mount),
        "--dry-run",
        "-q",
        "--state-dir",
        str(tmp_path / "state"),
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    script = 'mount --bind "$1" "$2" && mount -o remount,ro,bind "$2" && touch "$2/.git/probe"; shift 2; exec "$@"'
    try:
        proc = subprocess.run(
            ["unshare", "-rm", "sh", "-c", script, "sh", str(repo), str(mount), *runner],
            capture_output=True,
            timeout=100,
        )
    except FileNotFoundError:
        pytest.skip("unshare is not installed")
    if b"Read-only file system" not in proc.stderr:
        pytest.skip(f"no private read-only mount here: {proc.stderr.decode()[-300:]}")
    assert proc.returncode == 0, proc.stderr.decode()
    assert [i["status"] for i in latest_report(tmp_path / "reports")["issues"]] == ["committed", "committed"]
    assert branches(repo) == {}
