"""Dask workers that clone, commit and push themselves: a bare repository on disk is the remote."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import GH_REPO, TOKEN, branches, git, issue, kill_a_dask_worker_when, latest_report

pytest.importorskip("distributed")

FIX_SCRIPT = """\
import os, pathlib
target = pathlib.Path("app/search.py")
target.write_text(target.read_text() + "# fixed for issue " + os.environ["RUNNER_ISSUE_NUMBER"] + "\\n")
"""


def bare_remote(make_repo, tmp_path: Path) -> Path:
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(make_repo("source")), str(remote))
    return remote


def runner_argv(tmp_path: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runner",
        "process",
        *args,
        "-q",
        "--worker-cache",
        str(tmp_path / "worker-cache"),
        "--state-dir",
        str(tmp_path / "state"),
        "--report-dir",
        str(tmp_path / "reports"),
    ]


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")}, **(extra or {})}


def run_process(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        runner_argv(tmp_path, *args), capture_output=True, env=clean_env(), cwd=tmp_path, timeout=timeout
    )


def master_clone(tmp_path: Path, remote: Path) -> Path:
    from runner.git.clones import clone_dir

    return clone_dir((tmp_path / "state").resolve(), str(remote.resolve()))


def worker_clone(tmp_path: Path, remote: Path) -> Path:
    from runner.git.clones import url_key

    return tmp_path / "worker-cache" / url_key(str(remote.resolve()))


def commit_count(repo: Path) -> int:
    return int(git(repo, "rev-list", "--all", "--count"))


@pytest.mark.timeout(90)
def test_workers_push_each_branch_once_and_a_rerun_changes_nothing(make_repo, write_issues, tmp_path):
    remote = bare_remote(make_repo, tmp_path)
    items = [issue(n, f"Login fails {n}", "app/auth/login.py authenticate_user") for n in range(1, 13)]
    args = ["--repo", str(remote), "--backend", "dask-local", "--dask-workers", "2"]
    result = run_process(tmp_path, str(write_issues(items)), *args)
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"committed"}
    assert report["metrics"]["pool"]["git_on_workers"] == ["(default)"]
    on_remote = branches(remote)
    assert set(on_remote) == {f"runner/issue-{n}" for n in range(1, 13)}
    assert {r["commit"] for r in report["issues"]} == set(on_remote.values())
    assert commit_count(remote) == 2 + 12
    assert branches(master_clone(tmp_path, remote)) == {}, "the master wrote no branch of its own"
    assert set(branches(worker_clone(tmp_path, remote))) == set(on_remote)
    assert "Runner-Issue: 5" in git(remote, "log", "-1", "--format=%B", "runner/issue-5")

    again = run_process(tmp_path, str(write_issues(items)), *args)
    assert again.returncode == 0, again.stderr.decode()
    assert {r["status"] for r in latest_report(tmp_path / "reports")["issues"]} == {"unchanged"}
    assert branches(remote) == on_remote and commit_count(remote) == 2 + 12

    dry = run_process(tmp_path, str(write_issues([*items, issue(13, "Export slow", "export_csv")])), *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr.decode()
    statuses = {r["number"]: r["status"] for r in latest_report(tmp_path / "reports")["issues"]}
    assert statuses[13] == "committed" and {statuses[n] for n in range(1, 13)} == {"unchanged"}
    assert branches(remote) == on_remote and commit_count(remote) == 2 + 12
    assert "runner/issue-13" not in branches(worker_clone(tmp_path, remote))


@pytest.mark.timeout(90)
def test_a_worker_killed_mid_batch_loses_nothing_and_pushes_nothing_twice(make_repo, write_issues, tmp_path):
    remote = bare_remote(make_repo, tmp_path)
    count = 200
    items = [issue(n, f"Session expires {n}", "app/auth/session.py create_session") for n in range(1, count + 1)]
    argv = runner_argv(
        tmp_path,
        str(write_issues(items, lines=True)),
        "--repo",
        str(remote),
        "--backend",
        "dask-local",
        "--dask-workers",
        "2",
    )
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(), cwd=tmp_path)
    killed = kill_a_dask_worker_when(proc, lambda: len(branches(remote)) >= 20, poll_s=0.02)
    _, err = proc.communicate(timeout=80)
    assert killed is not None, "the run ended before a Dask worker could be killed"
    assert proc.returncode == 0, err.decode()
    report = latest_report(tmp_path / "reports")
    assert sorted(r["number"] for r in report["issues"]) == list(range(1, count + 1))
    assert {r["status"] for r in report["issues"]} <= {"committed", "unchanged"}
    assert report["metrics"]["pool"]["died"] >= 1
    assert len(branches(remote)) == count
    assert commit_count(remote) == 2 + count
    assert branches(master_clone(tmp_path, remote)) == {}


@pytest.mark.timeout(90)
def test_a_fixer_runs_on_an_external_cluster_and_its_change_lands_on_the_remote(
    make_repo, write_issues, tmp_path, external_cluster
):
    remote = bare_remote(make_repo, tmp_path)
    script = tmp_path / "fix.py"
    script.write_text(FIX_SCRIPT)
    items = [issue(n, f"Search crash {n}", "app/search.py search_items") for n in (1, 2, 3)]
    result = run_process(
        tmp_path,
        str(write_issues(items)),
        "--repo",
        str(remote),
        "--backend",
        "dask",
        "--scheduler",
        external_cluster.scheduler_address,
        "--command",
        f"{sys.executable} {script}",
    )
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"committed"}
    for n in (1, 2, 3):
        text = git(remote, "show", f"runner/issue-{n}:app/search.py")
        assert text.endswith(f"# fixed for issue {n}") and text.count("# fixed") == 1
        assert f".runner/issues/{n}/" not in git(remote, "ls-tree", "-r", "--name-only", f"runner/issue-{n}")
        assert f"Runner-Issue: {n}" in git(remote, "log", "-1", "--format=%B", f"runner/issue-{n}")
    assert commit_count(remote) == 2 + 3
    fixer = report["issues"][0]["fixer"]
    assert fixer["changed"] == ["app/search.py"] and fixer["host"]
    assert Path(fixer["log"]).parent == tmp_path / "worker-cache" / "fixer-logs"
    assert not list((tmp_path / "worker-cache" / "worktrees").glob("*/issue-*"))


@pytest.mark.timeout(120)
def test_pull_requests_are_opened_for_branches_the_workers_pushed(github_world, runner_cli, tmp_path):
    world = github_world()
    numbers = world.seed(6)
    path = world.issues_file(tmp_path / "issues.jsonl")
    flags = [
        "--repo",
        str(world.bare),
        "--backend",
        "dask-local",
        "--dask-workers",
        "2",
        "--worker-cache",
        str(tmp_path / "worker-cache"),
        *world.fast_flags(),
    ]
    result = runner_cli("process", str(path), *flags, env=world.env())
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"published"}
    pulls = list(world.client().get_repo(GH_REPO).get_pulls(state="all"))
    assert sorted(p.head.ref for p in pulls) == sorted(f"runner/issue-{n}" for n in numbers)
    assert all(p.draft for p in pulls)
    assert branches(master_clone(tmp_path, world.bare)) == {}, "the master had nothing to push"
    assert commit_count(world.bare) == 2 + 6
    for file in tmp_path.rglob("*"):
        if file.is_file() and "objects" not in file.parts:
            assert TOKEN.encode() not in file.read_bytes(), file
    assert TOKEN not in result.stdout.decode() + result.stderr.decode()


def test_the_token_never_travels_in_the_dask_payload(make_repo, tmp_path, monkeypatch):
    from runner.config import build_config
    from runner.dask.git import settings_for
    from runner.dask.worker import SagePayload
    from runner.sage import worker as sage

    remote = bare_remote(make_repo, tmp_path)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    config = build_config(
        {
            "repo_args": [str(remote)],
            "backend": "dask-local",
            "github": GH_REPO,
            "author_name": "Bot",
            "author_email": "bot@example.com",
            "state_dir": tmp_path / "state",
            "worker_cache": "~/runner-cache",
        }
    )
    setup = sage.SageSetup({}, None, config.branch_prefix, config.plan_dir, {"": ("/master/clone", "abc123", "lock")})
    settings = settings_for(config, setup)
    assert settings is not None and settings.remotes == {"": str(remote.resolve())}
    assert settings.identity.name == "Bot" and settings.bases == {"": "abc123"}
    assert settings.cache_dir == "~/runner-cache"
    data = pickle.dumps(SagePayload.from_setup(setup, "run", git=settings))
    assert TOKEN.encode() not in data
    local = build_config(
        {"repo_args": [str(make_repo("plain"))], "backend": "dask-local", "state_dir": tmp_path / "state"}
    )
    assert settings_for(local, setup) is None


@pytest.fixture
def one_host(make_repo, tmp_path):
    """worker_git in this process, as a worker host would run it; the sage initialized for real."""
    from runner.core.models import Identity
    from runner.core.triage import Triager
    from runner.dask import git as worker_git
    from runner.run.source import to_issue
    from runner.sage import codeindex
    from runner.sage import worker as sage

    remote = bare_remote(make_repo, tmp_path)
    base = git(remote, "rev-parse", "main")
    index_path = codeindex.load_or_build(remote, base, tmp_path / "index")[1]
    plain = sage.SageSetup({"": str(index_path)}, None, "runner/issue-", ".runner/issues/{number}")

    def install(cache: str, run: str, fixer=None, publish_failed: bool = False) -> None:
        setup = replace(plain, repos={"": ("/not/on/this/host", base, "/not/on/this/host.lock")}, fixer=fixer)
        settings = worker_git.WorkerGitSettings(
            {"": str(remote)},
            {"": base},
            Identity(),
            setup.branch_prefix,
            setup.plan_dir,
            cache_dir=str(tmp_path / cache),
            publish_failed=publish_failed,
        )
        sage.initialize(worker_git.install(settings, setup, run))

    def task(number: int):
        from runner.core.models import Task

        found = to_issue(issue(number, f"Login fails {number}", "app/auth/login.py"), 0, None)
        return Task(found, Triager().triage(found), "")

    yield remote, base, install, task
    worker_git.close()


def test_an_attempt_with_a_stale_view_is_refused_and_finds_the_earlier_push(one_host):
    from runner.dask import git as worker_git
    from runner.sage import worker as sage

    remote, _base, install, task = one_host
    install("host-b", "run-1")
    install("host-a", "run-1")
    first = worker_git.work_and_push(task(7), lambda: sage.work(task(7))).written
    assert first.status == "committed" and first.pushed
    time.sleep(1.05)  # commits carry whole seconds: within the same second host B would make the very same commit
    install("host-b", "run-1")
    again = worker_git.work_and_push(task(7), lambda: sage.work(task(7))).written
    assert (again.status, again.commit, again.pushed) == ("unchanged", first.commit, True)
    assert git(remote, "rev-parse", "runner/issue-7") == first.commit
    assert commit_count(remote) == 2 + 1


def test_an_unpushed_leftover_on_the_host_is_replaced_by_the_remote_truth(one_host, tmp_path):
    from runner.dask import git as worker_git
    from runner.git.clones import url_key
    from runner.sage import worker as sage

    remote, base, install, task = one_host
    install("host-a", "run-1")
    clone = tmp_path / "host-a" / url_key(str(remote))
    leftover = git(clone, "commit-tree", "-p", base, "-m", "crashed before its push", f"{base}^{{tree}}")
    git(clone, "update-ref", "refs/heads/runner/issue-8", leftover)
    install("host-a", "run-2")
    written = worker_git.work_and_push(task(8), lambda: sage.work(task(8))).written
    assert written.status == "committed" and written.pushed
    assert git(remote, "rev-parse", "runner/issue-8^") == base
    assert commit_count(remote) == 2 + 1


def test_a_retried_fixer_issue_does_not_commit_its_change_twice(one_host, tmp_path):
    from runner.dask import git as worker_git
    from runner.sage import worker as sage
    from runner.sage.fixer import FixerSpec

    remote, _base, install, task = one_host
    script = tmp_path / "fix.py"
    script.write_text(FIX_SCRIPT)
    fixer = FixerSpec((sys.executable, str(script)), 30.0, "/not/on/this/host", "/not/on/this/host")
    install("host-b", "run-1", fixer)
    install("host-a", "run-1", fixer)
    first = worker_git.work_and_push(task(9), lambda: sage.work(task(9)))
    assert first.written.status == "committed" and first.fixer["changed"] == ["app/search.py"]
    time.sleep(1.05)
    install("host-b", "run-1", fixer)
    again = worker_git.work_and_push(task(9), lambda: sage.work(task(9))).written
    assert (again.status, again.commit) == ("unchanged", first.written.commit)
    assert commit_count(remote) == 2 + 1
    assert git(remote, "show", "runner/issue-9:app/search.py").count("# fixed for issue 9") == 1


def test_a_failing_fixer_on_a_worker_host_commits_nothing_and_keeps_its_output_out_of_the_error(one_host, tmp_path):
    from runner.dask import git as worker_git
    from runner.sage import worker as sage
    from runner.sage.fixer import FixerSpec

    remote, _base, install, task = one_host
    fixer = FixerSpec(
        ("sh", "-c", "echo half > app/half.py; echo 'broke: \033[31mred' >&2; exit 4"),
        30.0,
        "/not/on/this/host",
        "/not/on/this/host",
    )
    install("host-a", "run-1", fixer)
    result = worker_git.work_and_push(task(10), lambda: sage.work(task(10)))
    assert result.written is None and result.changes == {}
    facts = result.fixer
    assert facts["error"] == f"command exited with 4; its output is in {facts['log']}" and facts["host"]
    assert facts["output_tail"] == "broke: [31mred\n" and facts["changed"] == ["app/half.py"]
    assert commit_count(remote) == 2 and "runner/issue-10" not in git(remote, "branch", "--list")


def test_a_fix_that_fails_its_check_is_committed_on_the_host_but_pushed_only_with_publish_failed(one_host, tmp_path):
    from runner.dask import git as worker_git
    from runner.sage import worker as sage
    from runner.sage.fixer import FixerSpec

    remote, _base, install, task = one_host
    fixer = FixerSpec(
        ("sh", "-c", "echo fixed >> app/search.py"),
        30.0,
        "/not/on/this/host",
        "/not/on/this/host",
        check=("sh", "-c", "echo 1 failed; exit 1"),
    )
    install("host-a", "run-1", fixer)
    held = worker_git.work_and_push(task(11), lambda: sage.work(task(11)))
    assert held.check_error and held.written.status == "committed" and not held.written.pushed
    assert "runner/issue-11" not in git(remote, "branch", "--list")
    install("host-a", "run-2", fixer, publish_failed=True)
    shown = worker_git.work_and_push(task(11), lambda: sage.work(task(11)))
    assert shown.check_error and shown.written.pushed
    assert git(remote, "rev-parse", "runner/issue-11") == shown.written.commit


def test_the_worker_side_imports_no_terminal_ui():
    code = (
        "import sys, runner.dask.worker, runner.dask.git; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'typer') or m == 'runner.cli.ui'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_delta_index_travels_with_its_base_to_a_worker_host(make_repo, tmp_path):
    from runner.dask.worker import SagePayload
    from runner.sage import codeindex
    from runner.sage import worker as sage

    repo = make_repo("delta")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "app" / "added_module.py").write_text("def freshly_added_name():\n    return 1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one more file")
    cache = tmp_path / "index"
    codeindex.load_or_build(repo, base, cache)
    index, path = codeindex.load_or_build(repo, git(repo, "rev-parse", "HEAD"), cache)
    assert index.layered
    setup = sage.SageSetup({"": str(path)}, None, "runner/issue-", ".runner/issues/{number}", {})
    there = pickle.loads(pickle.dumps(SagePayload.from_setup(setup, "run"))).materialize(tmp_path / "host")
    shipped = codeindex.load(Path(there.index_paths[""]))
    assert shipped.layered and shipped.base_path and shipped.base_path.parent == Path(there.index_paths[""]).parent
    assert [shipped.info([f])[f][0] for _, _, f, _ in shipped.defined(["freshly_added_name"])] == [
        "app/added_module.py"
    ]
