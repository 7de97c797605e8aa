"""Fixer commands: real commands in real worktrees, killed when they hang, never given a shell."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from conftest import IDENTITY, SAMPLE_FILES, git, user_state

from runner.core.models import Identity, Issue, Priority, SageResult, Ticket, Triage
from runner.git.message import commit_message
from runner.git.store import RepoWriter, WriteItem
from runner.sage.fixer import FixerSpec, prune_stale_worktrees, run_fixer

pytestmark = pytest.mark.timeout(60)

FIX_SCRIPT = """
import json, os
issue = json.load(open(os.environ["RUNNER_ISSUE_JSON"]))
plan = open(os.environ["RUNNER_PLAN"]).read().splitlines()[0]
number = os.environ["RUNNER_ISSUE_NUMBER"]
for line in issue["body"].splitlines():
    if line.startswith("edit: "):
        path = line[len("edit: "):]
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "a") as f:
            f.write(f"fixed by #{number}: {plan}\\n")
print("edited for", number, os.environ["RUNNER_BRANCH"])
"""

# Ignores SIGTERM (and so do its children) and hides one child from the process tree by a double fork.
HANG_SCRIPT = """
import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pids = [os.getpid(), subprocess.Popen(["sleep", "1000"], **quiet).pid,
        subprocess.Popen(["sleep", "1000"], start_new_session=True, **quiet).pid]
daemon = "import subprocess; print(subprocess.Popen(['sleep', '1000'], start_new_session=True, " \\
         "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).pid)"
pids.append(int(subprocess.run([sys.executable, "-c", daemon], capture_output=True, text=True).stdout))
with open(os.environ["PIDS_FILE"] + ".tmp", "w") as f:
    f.write(" ".join(map(str, pids)))
os.replace(os.environ["PIDS_FILE"] + ".tmp", os.environ["PIDS_FILE"])
print("children started", flush=True)
time.sleep(1000)
"""

KILLED_RUN_SCRIPT = """
import sys
from pathlib import Path
from runner.sage.fixer import FixerSpec, run_fixer
repo, state, script, pids = sys.argv[1:5]
spec = FixerSpec((sys.executable, script), 300, state + "/worktrees", state + "/logs")
run_fixer(Path(repo), "main", 5, "runner/issue-5", b'{"number": 5, "title": "t"}', b"plan", spec,
          Path(repo) / ".git" / "runner-refs.lock", {"PIDS_FILE": pids}, branch_prefix="runner/issue-")
"""


def make_spec(tmp_path: Path, command: list[str], timeout_s: float = 30) -> FixerSpec:
    state = tmp_path / "state"
    return FixerSpec(tuple(command), timeout_s, str(state / "worktrees"), str(state / "logs"))


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


def script_file(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / "tools" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


def issue_bytes(number: int, title: str, body: str = "") -> bytes:
    return json.dumps({"number": number, "title": title, "body": body}).encode()


def lock_of(repo: Path) -> Path:
    return repo / ".git" / "runner-refs.lock"


def fix(
    repo: Path,
    spec: FixerSpec,
    number: int = 1,
    title: str = "title",
    body: str = "",
    prefix: str = "runner/issue-",
    **extra: str,
):
    return run_fixer(
        repo,
        "main",
        number,
        f"{prefix}{number}",
        issue_bytes(number, title, body),
        b"the plan\n",
        spec,
        lock_of(repo),
        extra,
        branch_prefix=prefix,
    )


def worktree_list(repo: Path) -> list[Path]:
    out = git(repo, "worktree", "list", "--porcelain")
    return [Path(line[len("worktree ") :]) for line in out.splitlines() if line.startswith("worktree ")]


def assert_clean(repo: Path, spec: FixerSpec) -> None:
    assert worktree_list(repo) == [repo.resolve()]
    assert not list(Path(spec.worktrees_dir).rglob("issue-*"))


def wait_for(path: Path, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_twenty_issues_in_parallel_each_get_exactly_their_own_change(make_repo, tmp_path):
    repo = make_repo()
    before = user_state(repo)
    spec = make_spec(tmp_path, [sys.executable, str(script_file(tmp_path, "fix.py", FIX_SCRIPT))], timeout_s=60)

    def one(n: int):
        body = f"Please fix.\nedit: README.md\nedit: notes/{n}.md\n"
        return run_fixer(
            repo,
            "main",
            n,
            f"runner/issue-{n}",
            issue_bytes(n, f"Issue {n}", body),
            f"Plan for {n}\n".encode(),
            spec,
            lock_of(repo),
            branch_prefix="runner/issue-",
        )

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(one, range(1, 21)))
    for n, outcome in enumerate(outcomes, start=1):
        line = f"fixed by #{n}: Plan for {n}\n".encode()
        assert (outcome.exit_code, outcome.timed_out, outcome.foreign_changes) == (0, False, [])
        assert outcome.changed == {"README.md": SAMPLE_FILES["README.md"].encode() + line, f"notes/{n}.md": line}
        assert outcome.modes == {"README.md": "100644", f"notes/{n}.md": "100644"}
        assert f"edited for {n} runner/issue-{n}" in outcome.output_tail
    assert len({o.log_path for o in outcomes}) == 20
    assert_clean(repo, spec)
    assert user_state(repo) == before


def test_a_hanging_command_is_killed_with_all_its_children(make_repo, tmp_path):
    repo = make_repo()
    pids_file = tmp_path / "pids"
    spec = make_spec(tmp_path, [sys.executable, str(script_file(tmp_path, "hang.py", HANG_SCRIPT))], timeout_s=4)
    outcome = fix(repo, spec, PIDS_FILE=str(pids_file))
    assert outcome.timed_out and outcome.exit_code is None
    assert outcome.changed == {} and "children started" in outcome.output_tail
    pids = [int(p) for p in pids_file.read_text().split()]
    assert len(pids) == 4
    assert [pid for pid in pids if alive(pid)] == []
    assert_clean(repo, spec)


def test_a_failing_command_reports_its_exit_code_output_and_changes(make_repo, tmp_path):
    repo = make_repo()
    spec = make_spec(tmp_path, sh('echo partial > partial.txt; echo "it broke badly" >&2; exit 3'))
    outcome = fix(repo, spec)
    assert (outcome.exit_code, outcome.timed_out) == (3, False)
    assert "it broke badly" in outcome.output_tail
    assert outcome.changed == {"partial.txt": b"partial\n"}
    assert Path(outcome.log_path).read_text() == "it broke badly\n"
    assert_clean(repo, spec)


def test_no_change_and_a_background_process_left_behind_is_stopped(make_repo, tmp_path):
    repo = make_repo()
    pids_file = tmp_path / "pids"
    spec = make_spec(tmp_path, sh('sleep 1000 & echo $! > "$PIDS_FILE"; echo looked around'))
    outcome = fix(repo, spec, PIDS_FILE=str(pids_file))
    assert (outcome.exit_code, outcome.changed, outcome.modes) == (0, {}, {})
    assert outcome.output_tail == "looked around\n"
    assert not alive(int(pids_file.read_text()))
    assert_clean(repo, spec)


def test_huge_output_goes_to_the_log_file_not_to_memory(make_repo, tmp_path):
    repo = make_repo()
    size = 50 * 1024 * 1024
    spec = make_spec(tmp_path, sh(f"yes 0123456789abcdef | head -c {size}; echo THE-END"))
    rss_before = psutil.Process().memory_info().rss
    outcome = fix(repo, spec)
    growth = psutil.Process().memory_info().rss - rss_before
    assert outcome.exit_code == 0
    assert 4000 <= len(outcome.output_tail.encode()) <= 4096
    assert outcome.output_tail.endswith("THE-END\n") and "\n0123456789abcdef\n" in outcome.output_tail
    assert Path(outcome.log_path).stat().st_size == size + len("THE-END\n")
    assert growth < 20 * 1024 * 1024


def test_shell_metacharacters_in_titles_stay_text(make_repo, tmp_path):
    repo = make_repo()
    marker = tmp_path / "pwned"
    titles = [
        f"$(touch {marker})",
        f"`touch {marker}`",
        f"; touch {marker}; rm -rf ~",
        f"| touch {marker} &&",
        f"--upload-pack=touch {marker}",
        "quotes ' \" \\ $HOME\nsecond line",
        "nul \0 and lone \ud800 surrogate",
    ]
    spec = make_spec(tmp_path, sh('printf %s "$RUNNER_ISSUE_TITLE" > title.txt'))
    for number, title in enumerate(titles, start=1):
        outcome = fix(repo, spec, number, title=title)
        expected = title.replace("\0", "").encode("utf-8", "replace")
        assert outcome.changed == {"title.txt": expected}
    assert not marker.exists()
    assert_clean(repo, spec)


def test_changes_to_the_main_checkout_are_reported(make_repo, tmp_path):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    spec = make_spec(
        tmp_path, sh('git -C "$RUNNER_REPO" branch evil && git -C "$RUNNER_REPO" config runner.touched yes')
    )
    outcome = fix(repo, spec)
    assert outcome.exit_code == 0
    assert outcome.foreign_changes == ["config: changed", f"refs/heads/evil: created at {main}"]
    assert outcome.changed == {}


@pytest.mark.parametrize("prefix", ["runner/issue-", "fix/"])
def test_other_issues_branches_deleted_planted_or_moved_are_foreign_changes(make_repo, tmp_path, prefix):
    repo = make_repo()
    main, first = git(repo, "rev-parse", "main"), git(repo, "rev-parse", "main^")
    for name in ("runner/keep-me", f"{prefix}3", f"{prefix}4", f"{prefix}1"):
        git(repo, "branch", name, "main")
    spec = make_spec(
        tmp_path,
        sh(
            'git -C "$RUNNER_REPO" branch -q runner/issue-99 HEAD && git -C "$RUNNER_REPO" branch -q -D runner/keep-me'
            f' && git -C "$RUNNER_REPO" branch -q -D {prefix}3 && git -C "$RUNNER_REPO" branch -q -f {prefix}4 main^'
            ' && git -C "$RUNNER_REPO" branch -q -f "$RUNNER_BRANCH" main^'
        ),
    )
    outcome = fix(repo, spec, prefix=prefix)
    assert outcome.exit_code == 0, outcome.output_tail
    assert outcome.foreign_changes == sorted(
        [
            f"refs/heads/{prefix}1: {main} -> {first}",
            f"refs/heads/{prefix}3: deleted (was {main})",
            f"refs/heads/{prefix}4: {main} -> {first}",
            f"refs/heads/runner/issue-99: created at {main}",
            f"refs/heads/runner/keep-me: deleted (was {main})",
        ]
    )


def runner_commit_item(number: int, text: bytes) -> WriteItem:
    """What the git writer commits for an issue, with the message the run gives it."""
    issue = Issue(number, f"issue {number}", "", (), None, None, None, 0, f"hash-{number}")
    ticket = Ticket(issue, Triage(Priority.LOW, "bug", "", ""), "")
    directory = f".runner/issues/{number}"
    return WriteItem(
        number,
        f"runner/issue-{number}",
        directory,
        {f"{directory}/PLAN.md": text},
        commit_message(ticket, SageResult(number, "", (), "low", ())),
    )


def test_commits_the_git_writer_makes_while_a_command_runs_are_not_foreign(make_repo, tmp_path):
    repo = make_repo()
    writer = RepoWriter(repo, Identity(), "runner/issue-", None)
    assert writer.write([runner_commit_item(8, b"first")])[0].status == "committed"
    ready, go = tmp_path / "ready", tmp_path / "go"
    spec = make_spec(tmp_path, sh('touch "$READY"; while [ ! -e "$GO" ]; do sleep 0.02; done'))
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(fix, repo, spec, 1, READY=str(ready), GO=str(go))
        wait_for(ready)
        written = writer.write([runner_commit_item(7, b"new"), runner_commit_item(8, b"second")])
        go.touch()
        outcome = running.result(timeout=30)
    writer.close()
    assert [o.status for o in written] == ["committed", "committed"]
    assert outcome.exit_code == 0 and outcome.foreign_changes == []

    other = runner_commit_item(7, b"other").message
    forged = git(repo, "commit-tree", "-p", "main", "-m", other, "main^{tree}")
    spec = make_spec(
        tmp_path,
        sh(
            f'git -C "$RUNNER_REPO" branch -q runner/issue-9 {written[0].commit}'
            f' && git -C "$RUNNER_REPO" branch -q -f runner/issue-7 {forged}'
        ),
    )
    assert fix(repo, spec, 2).foreign_changes == [
        f"refs/heads/runner/issue-7: {written[0].commit} -> {forged}",
        f"refs/heads/runner/issue-9: created at {written[0].commit}",
    ]


def test_aligning_a_branch_with_the_remote_tip_is_not_foreign(make_repo, tmp_path):
    remote = make_repo("remote")
    git(remote, "branch", "runner/issue-7", "main^")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    main = git(clone, "rev-parse", "origin/main")
    spec = make_spec(
        tmp_path,
        sh(
            'git -C "$RUNNER_REPO" update-ref refs/heads/runner/issue-7 origin/runner/issue-7'
            ' && git -C "$RUNNER_REPO" branch -q --no-track runner/issue-8 origin/main'
        ),
    )
    outcome = run_fixer(
        clone,
        "main",
        1,
        "runner/issue-1",
        issue_bytes(1, "t"),
        b"plan",
        spec,
        lock_of(clone),
        branch_prefix="runner/issue-",
    )
    assert outcome.foreign_changes == [f"refs/heads/runner/issue-8: created at {main}"]


def test_deleted_executable_symlinked_committed_and_ignored_files(make_repo, tmp_path):
    repo = make_repo()
    head = git(repo, "rev-parse", "HEAD")
    spec = make_spec(
        tmp_path,
        sh(
            "rm README.md"
            " && printf '#!/bin/sh\\necho hi\\n' > tool.sh && chmod +x tool.sh"
            " && ln -s docs/index.md link.md && ln -s /etc/hostname outside"
            " && chmod +x app/search.py"
            " && echo '*.log' > .gitignore && echo noise > build.log"
            " && mkdir app/new && echo 'VALUE = 1' > app/new/const.py"
            " && git add app/new/const.py && git commit -q -m 'from the tool'"
        ),
    )
    outcome = fix(repo, spec, **IDENTITY)
    assert outcome.exit_code == 0, outcome.output_tail
    assert outcome.changed == {
        "README.md": None,
        "tool.sh": b"#!/bin/sh\necho hi\n",
        "link.md": b"docs/index.md",
        "outside": b"/etc/hostname",
        "app/search.py": SAMPLE_FILES["app/search.py"].encode(),
        ".gitignore": b"*.log\n",
        "app/new/const.py": b"VALUE = 1\n",
    }
    assert outcome.modes == {
        "tool.sh": "100755",
        "link.md": "120000",
        "outside": "120000",
        "app/search.py": "100755",
        ".gitignore": "100644",
        "app/new/const.py": "100644",
    }
    assert outcome.foreign_changes == [] and git(repo, "rev-parse", "HEAD") == head
    assert_clean(repo, spec)


def test_a_killed_run_leaves_a_worktree_that_prune_removes(make_repo, tmp_path):
    repo = make_repo()
    state, pids_file = tmp_path / "state", tmp_path / "pids"
    hang = script_file(tmp_path, "hang.py", HANG_SCRIPT)
    sage = subprocess.Popen([sys.executable, "-c", KILLED_RUN_SCRIPT, str(repo), str(state), str(hang), str(pids_file)])
    try:
        wait_for(pids_file)
    finally:
        sage.send_signal(signal.SIGKILL)
        sage.wait(timeout=10)
    assert len(worktree_list(repo)) == 2
    pids = [int(p) for p in pids_file.read_text().split()]
    assert all(alive(pid) for pid in pids)
    assert prune_stale_worktrees(repo, state / "worktrees", lock_of(repo), issue_number=55) == []
    assert all(alive(pid) for pid in pids) and len(worktree_list(repo)) == 2
    user = sleeper(worktree_list(repo)[1])
    try:
        removed = prune_stale_worktrees(repo, state / "worktrees", lock_of(repo), issue_number=5)
        assert alive(user.pid)
    finally:
        stop(user)
    names = sorted(Path(p).name for p in removed)
    assert names[0].startswith("issue-5-") and names[1:] == [names[0] + ".issue.json", names[0] + ".plan.md"]
    assert [pid for pid in pids if alive(pid)] == []
    assert worktree_list(repo) == [repo.resolve()]
    assert git(repo, "worktree", "prune", "--dry-run", "--verbose") == ""
    assert prune_stale_worktrees(repo, state / "worktrees", lock_of(repo)) == []


def sleeper(cwd: Path) -> subprocess.Popen:
    """A person's process working in `cwd` (a shell, an editor), started outside runner."""
    return subprocess.Popen(["sleep", "300"], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)


def test_a_kept_worktree_and_whoever_works_in_it_are_never_pruned(make_repo, tmp_path):
    repo = make_repo()
    spec = FixerSpec(("sh", "-c", "echo kept > kept.txt"), 30, str(tmp_path / "wt"), str(tmp_path / "logs"), True)
    outcome = fix(repo, spec, 5)
    assert outcome.changed == {"kept.txt": b"kept\n"}
    kept = [path for path in worktree_list(repo) if path != repo.resolve()]
    assert len(kept) == 1 and (kept[0] / "kept.txt").read_text() == "kept\n"
    assert "git worktree remove" in kept[0].with_name(kept[0].name + ".kept").read_text()
    (kept[0] / "REVIEW_NOTES.txt").write_text("my notes\n")
    user = sleeper(kept[0])
    try:
        assert prune_stale_worktrees(repo, tmp_path / "wt", lock_of(repo)) == []
        assert prune_stale_worktrees(repo, tmp_path / "wt", lock_of(repo), issue_number=5) == []
        assert alive(user.pid)
    finally:
        stop(user)
    assert (kept[0] / "REVIEW_NOTES.txt").read_text() == "my notes\n"
    assert worktree_list(repo) == [repo.resolve(), kept[0]]
    git(repo, "worktree", "remove", "--force", str(kept[0]))
    removed = prune_stale_worktrees(repo, tmp_path / "wt", lock_of(repo))
    assert sorted(Path(p).name for p in removed) == [
        kept[0].name + suffix for suffix in (".issue.json", ".kept", ".plan.md")
    ]
    assert_clean(repo, spec)


def test_worktrees_inside_the_checkout_are_refused(make_repo, tmp_path):
    repo = make_repo()
    spec = FixerSpec(("true",), 10, str(repo / ".cache" / "worktrees"), str(tmp_path / "logs"))
    with pytest.raises(ValueError, match="inside the checkout"):
        fix(repo, spec)
    assert not (repo / ".cache").exists()


def test_a_missing_command_is_exit_127(make_repo, tmp_path):
    repo = make_repo()
    outcome = fix(repo, make_spec(tmp_path, [str(tmp_path / "no-such-tool")]))
    assert (outcome.exit_code, outcome.changed) == (127, {})
    assert "cannot start" in outcome.output_tail
    assert_clean(repo, make_spec(tmp_path, ["true"]))


def test_secrets_and_repository_overrides_are_not_inherited(make_repo, tmp_path, monkeypatch):
    repo = make_repo()
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret_value")
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "elsewhere"))
    spec = make_spec(
        tmp_path, sh('printf "%s|%s|%s" "${GITHUB_TOKEN:-none}" "${GIT_DIR:-none}" "$RUNNER_ISSUE_NUMBER" > env.txt')
    )
    outcome = fix(repo, spec, 42)
    assert outcome.changed == {"env.txt": b"none|none|42"}
    assert "ghp_secret_value" not in Path(outcome.log_path).read_text()


def test_the_tail_of_a_long_log_starts_at_a_whole_word(tmp_path):
    from runner.sage.fixer import read_tail

    secret = "ghp_" + "T" * 36
    log = tmp_path / "out.log"
    log.write_bytes(b"a" * 5000 + b" " + secret.encode() + b"\nend\n")
    assert read_tail(log, size=30) == "end\n"
    assert read_tail(log, size=len(secret) + 4) == "end\n"
    assert read_tail(log, size=len(secret) + 10) == f"{secret}\nend\n"
    log.write_bytes(b"short output\n")
    assert read_tail(log) == "short output\n"
