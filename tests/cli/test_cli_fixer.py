"""`runner process --command`: the user's fixer tool per issue, in isolated worktrees, end to end."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import branches, git, issue, latest_report, user_state

pytestmark = pytest.mark.timeout(240)

FIXER = r"""
import json, os, subprocess, sys, time
issue = json.load(open(os.environ["RUNNER_ISSUE_JSON"]))
n = issue["number"]
assert os.path.exists(os.environ["RUNNER_PLAN"])
mode = issue["body"].split("mode:", 1)[1].split()[0] if "mode:" in issue["body"] else "edit"
if mode == "hang":
    subprocess.Popen(["sleep", "1013"])  # a length no other test uses: the test looks for it machine-wide
    time.sleep(1000)
if mode == "fail":
    print("something went wrong \x1b]0;retitled\x07\x1b[2J", file=sys.stderr)
    sys.exit(3)
if mode == "wait-for":
    other = issue["body"].split("wait-for:", 1)[1].split()[0]
    def tip():
        return subprocess.run(["git", "-C", os.environ["RUNNER_REPO"], "rev-parse", "--verify", "-q", other],
                              capture_output=True, text=True).stdout
    first, deadline = tip(), time.monotonic() + 60
    while tip() == first and time.monotonic() < deadline:
        time.sleep(0.05)
if mode == "meddle":
    for args in (["branch", "-q", "runner/issue-99", "HEAD"], ["branch", "-q", "-D", "runner/keep-me"]):
        subprocess.run(["git", "-C", os.environ["RUNNER_REPO"], *args], check=True)
if mode == "nothing":
    sys.exit(0)
if mode == "loud":
    for _ in range(20000):
        sys.stdout.write("y" * 1000 + "\n")
target = issue["body"].split("file:", 1)[1].split()[0]
os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
with open(target, "a") as handle:
    handle.write(f"fixed #{n}: {os.environ['RUNNER_ISSUE_TITLE']}\n")
"""


@pytest.fixture
def fixer(tmp_path: Path) -> str:
    path = tmp_path / "fix-issue.py"
    path.write_text(FIXER)
    return f"{sys.executable} {path}"


def changed_files(repo: Path, branch: str) -> set[str]:
    out = git(repo, "diff", "--name-only", "main", branch)
    return {p for p in out.splitlines() if not p.startswith(".runner/")}


def test_twenty_issues_each_get_exactly_their_own_change(make_repo, write_issues, runner_cli, tmp_path, fixer):
    repo = make_repo()
    (repo / "README.md").write_text("dirty\n")
    before = user_state(repo)
    items = [issue(n, f"Fix module {n}", f"Please fix file: app/fixes/mod{n}.py") for n in range(1, 21)]
    result = runner_cli("process", str(write_issues(items)), "--repo", str(repo), "--command", fixer, "--workers", "3")
    assert result.returncode == 0, result.stderr.decode()
    assert len(branches(repo)) == 20
    for n in range(1, 21):
        assert changed_files(repo, f"runner/issue-{n}") == {f"app/fixes/mod{n}.py"}
        text = git(repo, "show", f"runner/issue-{n}:app/fixes/mod{n}.py")
        assert text == f"fixed #{n}: Fix module {n}"
        assert f"# Plan for #{n}" in git(repo, "log", "-1", "--format=%B", f"runner/issue-{n}")  # not in the tree
    assert user_state(repo) == before
    assert git(repo, "worktree", "list").count("\n") == 0
    report = latest_report(tmp_path / "reports")
    assert all(r["status"] == "committed" and r["fixer"]["exit_code"] == 0 for r in report["issues"])
    assert all(Path(r["fixer"]["log"]).is_file() for r in report["issues"])


def test_hang_fail_no_change_and_loud_commands(make_repo, write_issues, runner_cli, tmp_path, fixer):
    repo = make_repo()
    items = [
        issue(1, "hangs", "mode: hang"),
        issue(2, "fails", "mode: fail"),
        issue(3, "does nothing", "mode: nothing"),
        issue(4, "talks a lot", "mode: loud file: app/loud.py"),
        issue(5, "normal", "file: app/normal.py"),
    ]
    started = time.monotonic()
    result = runner_cli(
        "process", str(write_issues(items)), "--repo", str(repo), "--command", fixer, "--timeout", "3", "--workers", "2"
    )
    assert time.monotonic() - started < 120
    assert result.returncode == 1, result.stderr.decode()
    by_number = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert by_number[1]["status"] == "failed" and "timed out" in by_number[1]["error"]
    assert by_number[1]["attempts"] == 1
    failed = by_number[2]
    assert failed["status"] == "failed"
    assert failed["error"] == f"command exited with 3; its output is in {failed['fixer']['log']}"
    assert failed["fixer"]["output_tail"] == "something went wrong ]0;retitled[2J\n"
    assert "output is in" in by_number[1]["error"] and "output_tail" in by_number[1]["fixer"]
    status = runner_cli("status", "--state-dir", str(tmp_path / "state")).stdout.decode()
    assert f"#2 failed: {failed['error']}" in status and "something went wrong" not in status
    assert by_number[3]["status"] == "no-change"
    assert by_number[4]["status"] == by_number[5]["status"] == "committed"
    assert Path(by_number[4]["fixer"]["log"]).stat().st_size >= 20_000_000
    assert set(branches(repo)) == {"runner/issue-4", "runner/issue-5"}
    assert not [p for p in _sleepers() if p]


def test_branches_runner_commits_meanwhile_are_not_foreign_but_a_fixers_are(
    make_repo, write_issues, runner_cli, tmp_path, fixer
):
    repo = make_repo()
    git(repo, "branch", "runner/keep-me", "main")
    items = [
        issue(1, "waits", "mode: wait-for: runner/issue-2 file: app/one.py"),
        issue(2, "quick", "file: app/two.py"),
    ]
    for run in range(2):
        result = runner_cli(
            "process",
            str(write_issues(items)),
            "--repo",
            str(repo),
            "--command",
            fixer,
            "--workers",
            "2",
            reports=f"reports{run}",
        )
        assert result.returncode == 0, result.stderr.decode()
        report = {r["number"]: r for r in latest_report(tmp_path / f"reports{run}")["issues"]}
        assert report[1]["status"] == report[2]["status"] == "committed"
        assert git(repo, "rev-parse", "runner/issue-2").startswith(report[2]["commit"][:12])
        assert report[1]["fixer"]["foreign_changes"] == [] and report[1]["fixer"]["duration_s"] > 0
    main = git(repo, "rev-parse", "main")
    result = runner_cli(
        "process",
        str(write_issues([issue(3, "meddles", "mode: meddle file: app/three.py")])),
        "--repo",
        str(repo),
        "--command",
        fixer,
        reports="reports-meddle",
    )
    assert result.returncode == 0, result.stderr.decode()
    assert latest_report(tmp_path / "reports-meddle")["issues"][0]["fixer"]["foreign_changes"] == [
        f"refs/heads/runner/issue-99: created at {main}",
        f"refs/heads/runner/keep-me: deleted (was {main})",
    ]


def test_a_kept_worktree_outlives_the_next_run_with_the_person_working_in_it(
    make_repo, write_issues, runner_cli, tmp_path, fixer
):
    repo = make_repo()
    first = runner_cli(
        "process",
        str(write_issues([issue(5, "five", "file: app/five.py")])),
        "--repo",
        str(repo),
        "--command",
        fixer,
        "--keep-worktrees",
    )
    assert first.returncode == 0, first.stderr.decode()
    [kept] = [path for path in (tmp_path / "state" / "worktrees").glob("*/issue-5-*") if path.is_dir()]
    assert kept.with_name(kept.name + ".kept").is_file()
    (kept / "REVIEW_NOTES.txt").write_text("my review notes\n")
    person = subprocess.Popen(["sleep", "300"], cwd=kept)
    try:
        second = runner_cli(
            "process", str(write_issues([issue(6, "six", "file: app/six.py")])), "--repo", str(repo), "--command", fixer
        )
        assert second.returncode == 0, second.stderr.decode()
        assert person.poll() is None
    finally:
        person.kill()
        person.wait(timeout=10)
    assert (kept / "REVIEW_NOTES.txt").read_text() == "my review notes\n"
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 2


def test_a_file_name_that_is_not_utf8_round_trips_and_reads_escaped(
    make_repo, write_issues, runner_cli, tmp_path, fixer
):
    repo = make_repo()
    name = b"app/l\xe9gacy_login.py"
    (repo / os.fsdecode(name)).write_bytes(b"def login(user):\n    authenticate(user)\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "latin-1 name")
    target = os.fsdecode(name)
    items = [issue(5, "Login crash in authenticate", "login fails"), issue(6, "unrelated docs typo", "")]
    result = runner_cli("process", str(write_issues(items)), "--repo", str(repo))
    assert result.returncode == 0, result.stderr.decode()
    report = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert report[5]["status"] == "committed" and "app/l\\xe9gacy_login.py" in report[5]["related"]
    plan = subprocess.run(
        ["git", "-C", str(repo), "show", "runner/issue-5:.runner/issues/5/PLAN.md"], capture_output=True, check=True
    ).stdout.decode()
    assert "`app/l\\xe9gacy_login.py`" in plan

    edit = tmp_path / "edit.py"
    edit.write_text(
        f"import os\nwith open({target.encode('utf-8', 'surrogateescape')!r}, 'ab') as f:\n    f.write(b'# fixed\\n')\n"
    )
    result = runner_cli(
        "process",
        str(write_issues([issue(7, "Login crash", "login")])),
        "--repo",
        str(repo),
        "--command",
        f"{sys.executable} {edit}",
        reports="reports-fix",
    )
    assert result.returncode == 0, result.stderr.decode()
    record = latest_report(tmp_path / "reports-fix")["issues"][0]
    assert record["status"] == "committed" and record["fixer"]["changed"] == ["app/l\\xe9gacy_login.py"]
    blob = subprocess.run(
        ["git", "-C", str(repo), "show", b"runner/issue-7:" + name], capture_output=True, check=True
    ).stdout
    assert blob == b"def login(user):\n    authenticate(user)\n# fixed\n"
    assert "app/l\\xe9gacy_login.py" in git(repo, "log", "-1", "--format=%B", "runner/issue-7")


def _kill_runner_tree(pid: int) -> None:
    """SIGKILL runner and its sage processes at once (as an OOM kill or a reboot would), not the commands."""
    import psutil

    victims = [psutil.Process(pid)]
    for child in victims[0].children(recursive=True):
        try:
            if "python" in child.name() and "fix-issue.py" not in " ".join(child.cmdline()):
                victims.append(child)
        except psutil.NoSuchProcess:
            pass
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.send_signal(signal.SIGKILL)


def _sleepers() -> list[int]:
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if proc.info["cmdline"] == ["sleep", "1013"]:
            found.append(proc.pid)
    return found


def test_shell_metacharacters_in_issue_text_are_inert(make_repo, write_issues, runner_cli, tmp_path, fixer):
    repo = make_repo()
    marker = tmp_path / "pwned"
    title = f"$(touch {marker}) `touch {marker}`; touch {marker} | rm -rf ~ && echo $HOME"
    items = [issue(1, title, f"file: app/x.py $(touch {marker})")]
    result = runner_cli("process", str(write_issues(items)), "--repo", str(repo), "--command", fixer)
    assert result.returncode == 0, result.stderr.decode()
    assert not marker.exists()
    assert git(repo, "show", "runner/issue-1:app/x.py") == f"fixed #1: {title}"


def test_a_killed_run_leaves_worktrees_that_the_next_run_prunes(make_repo, write_issues, tmp_path, fixer):
    repo = make_repo()
    items = [issue(n, f"slow {n}", "mode: hang") for n in range(1, 3)] + [issue(3, "ok", "file: app/ok.py")]
    path = write_issues(items)
    argv = [
        sys.executable,
        "-m",
        "runner",
        "process",
        str(path),
        "--repo",
        str(repo),
        "--command",
        fixer,
        "--timeout",
        "2",
        "--state-dir",
        str(tmp_path / "state"),
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while git(repo, "worktree", "list").count("issue-") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    _kill_runner_tree(proc.pid)
    proc.communicate(timeout=30)
    assert "issue-" in git(repo, "worktree", "list")
    items[0]["body"] = items[1]["body"] = "file: app/later.py"
    again = subprocess.run([*argv[:4], str(write_issues(items)), *argv[5:]], env=env, capture_output=True, timeout=120)
    assert again.returncode == 0, again.stderr.decode()
    assert git(repo, "worktree", "list").count("\n") == 0
    assert len(branches(repo)) == 3


def test_a_fixer_runs_on_the_clone_of_a_repository_given_as_a_url(make_repo, write_issues, runner_cli, tmp_path, fixer):
    from runner.git.clones import canonical, clone_dir

    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(make_repo()), str(remote)], check=True)
    items = [issue(n, f"Fix module {n}", f"Please fix file: app/fixes/mod{n}.py") for n in (1, 2)]
    result = runner_cli("process", str(write_issues(items)), "--repo", str(remote), "--command", fixer)
    assert result.returncode == 0, result.stderr.decode()
    assert {r["status"] for r in latest_report(tmp_path / "reports")["issues"]} == {"committed"}
    clone = clone_dir(tmp_path / "state", canonical(str(remote)))
    assert git(clone, "show", "runner/issue-2:app/fixes/mod2.py") == "fixed #2: Fix module 2"
    assert branches(remote) == {}


PROBE = r"""
import json, os, sys
TOKEN = {token!r}
chain, pid = [], os.getppid()
while pid > 1:
    try:
        with open(f"/proc/{{pid}}/environ", "rb") as f:
            environ = f.read()
        with open(f"/proc/{{pid}}/cmdline", "rb") as f:
            cmdline = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        with open(f"/proc/{{pid}}/stat") as f:
            parent = int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        break
    chain.append({{"pid": pid, "token": TOKEN.encode() in environ, "cmdline": cmdline}})
    pid = parent
with open(os.path.join({out!r}, "chain-" + os.environ["RUNNER_ISSUE_NUMBER"] + ".json"), "w") as f:
    json.dump({{"chain": chain, "own": any(TOKEN in v for v in os.environ.values())}}, f)
print("leaking what it found:", TOKEN)
sys.exit(1)
"""


@pytest.mark.parametrize("backend, source", [("local", "env"), ("local", "file"), ("dask-local", "env")])
def test_no_sage_holds_the_token_and_a_failing_fixer_cannot_leak_it(
    github_world, runner_cli, tmp_path, backend, source
):
    """The fixer reads the environment of every ancestor: only runner's master may hold the token, and
    only when it was started with it; the token it prints is redacted wherever its output is recorded."""
    from conftest import TOKEN

    if backend != "local":
        pytest.importorskip("distributed")
    world = github_world()
    world.seed(2)
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "probe.py").write_text(PROBE.format(token=TOKEN, out=str(probe_dir)))
    env = {"GITHUB_API_URL": world.url}
    flags = ["--command", f"{sys.executable} {probe_dir / 'probe.py'}", "--backend", backend, "--workers", "2"]
    if source == "env":
        env.update(GITHUB_TOKEN=TOKEN, GH_TOKEN=TOKEN)
    else:
        (probe_dir / "token").write_text(TOKEN + "\n")
        flags += ["--token-file", str(probe_dir / "token")]
    result = runner_cli(
        "process",
        str(world.issues_file(tmp_path / "issues.jsonl")),
        "--repo",
        str(world.clone),
        *world.fast_flags(),
        *flags,
        env=env,
    )
    assert result.returncode == 1, result.stderr.decode()

    for probe in probe_dir.glob("chain-*.json"):
        seen = json.loads(probe.read_text())
        chain = seen["chain"]
        master = next(i for i, p in enumerate(chain) if p["cmdline"][1:3] == ["-m", "runner"])
        assert master >= (2 if backend == "local" else 1), chain
        assert not seen["own"] and not any(p["token"] for p in chain[:master]), chain
        assert source == "env" or not any(p["token"] for p in chain), chain
    assert len(list(probe_dir.glob("chain-*.json"))) == 2

    report = latest_report(tmp_path / "reports")
    assert [r["status"] for r in report["issues"]] == ["failed", "failed"]
    assert all("leaking what it found: ***" in json.dumps(r) for r in report["issues"])
    status = runner_cli("status", "--state-dir", str(tmp_path / "state"))
    assert status.returncode == 0 and "failed" in status.stdout.decode()
    written = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    written += [p for p in (tmp_path / "reports").iterdir() if p.is_file()]
    assert any(p.name == "journal.sqlite" for p in written) and any(p.name == "runner.log" for p in written)
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path
    for text in (result.stdout, result.stderr, status.stdout, status.stderr):
        assert TOKEN.encode() not in text
