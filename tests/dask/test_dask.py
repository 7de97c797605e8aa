"""`runner process` on Dask: a real LocalCluster with real worker processes, the real CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import branches, git, issue, kill_a_dask_worker_when, latest_report

pytest.importorskip("distributed")

URL = "https://api.github.com/repos/{}"


def run_process(tmp_path: Path, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    argv = [
        sys.executable,
        "-m",
        "runner",
        "process",
        *args,
        "-q",
        "--state-dir",
        str(tmp_path / "state"),
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(argv, capture_output=True, env=env, cwd=tmp_path, timeout=timeout)


@pytest.mark.timeout(90)
def test_batch_over_two_repositories_on_a_local_cluster(make_repo, write_issues, tmp_path):
    api, web = make_repo("api"), make_repo("web")
    templates = tmp_path / "tpl" / "default"
    templates.mkdir(parents=True)
    (templates / "PLAN.md.j2").write_text(
        "Plan for #{{ issue.number }} from the user's templates\nCloses #{{ issue.number }}\n"
    )
    items = [
        issue(n, f"Login fails {n}", "app/auth/login.py", repository_url=URL.format("acme/api")) for n in range(1, 21)
    ]
    items += [issue(n, f"Export slow {n}", "export_csv", repository_url=URL.format("acme/web")) for n in range(1, 16)]
    result = run_process(
        tmp_path,
        str(write_issues(items)),
        "--repo",
        f"acme/api={api}",
        "--repo",
        f"acme/web={web}",
        "--templates",
        str(tmp_path / "tpl"),
        "--backend",
        "dask-local",
        "--dask-workers",
        "2",
    )
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    done = sorted((r["repository"], r["number"]) for r in report["issues"])
    assert done == sorted([("acme/api", n) for n in range(1, 21)] + [("acme/web", n) for n in range(1, 16)])
    assert {r["status"] for r in report["issues"]} == {"committed"}
    assert set(branches(api)) == {f"runner/issue-{n}" for n in range(1, 21)}
    assert set(branches(web)) == {f"runner/issue-{n}" for n in range(1, 16)}
    assert "from the user's templates" in git(web, "show", "runner/issue-7:.runner/issues/7/PLAN.md")
    pool = report["metrics"]["pool"]
    assert pool["started"] == 2 and pool["tasks_done"] == 35 and pool["died"] == 0
    assert len(report["metrics"]["init_time_s"]) == 2


@pytest.mark.timeout(60)
def test_one_dask_worker_completes_in_priority_order(make_repo, write_issues, tmp_path):
    repo = make_repo()
    labels = ["p3", "p1", "p2", "critical", "p3", "p2", "p1", "critical", "p2", "p3", "critical", "p1"]
    items = [issue(n + 1, f"Issue {n + 1}", "plain words", [label]) for n, label in enumerate(labels)]
    result = run_process(
        tmp_path, str(write_issues(items)), "--repo", str(repo), "--backend", "dask-local", "--dask-workers", "1"
    )
    assert result.returncode == 0, result.stderr.decode()
    order = [r["number"] for r in latest_report(tmp_path / "reports")["issues"]]
    rank = {"critical": 0, "p1": 1, "p2": 2, "p3": 3}
    assert order == sorted(range(1, 13), key=lambda n: (rank[labels[n - 1]], n))


@pytest.mark.timeout(120)
def test_a_killed_dask_worker_loses_nothing_and_duplicates_nothing(make_repo, write_issues, tmp_path):
    repo = make_repo()
    count = 2000
    items = [issue(n, f"Login session problem {n}", "app/auth/session.py " * 20) for n in range(1, count + 1)]
    argv = [
        sys.executable,
        "-m",
        "runner",
        "process",
        str(write_issues(items, lines=True)),
        "--repo",
        str(repo),
        "--backend",
        "dask-local",
        "--dask-workers",
        "2",
        "-q",
        "--state-dir",
        str(tmp_path / "state"),
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed = kill_a_dask_worker_when(proc, lambda: len(branches(repo)) >= 50)
    _, err = proc.communicate(timeout=100)
    assert killed is not None, "the run ended before a Dask worker could be killed"
    assert proc.returncode == 0, err.decode()
    report = latest_report(tmp_path / "reports")
    assert report["totals"]["succeeded"] == count
    assert sorted(r["number"] for r in report["issues"]) == list(range(1, count + 1))
    assert {r["status"] for r in report["issues"]} == {"committed"}
    assert report["metrics"]["pool"]["died"] >= 1
    assert len(branches(repo)) == count
    assert int(git(repo, "rev-list", "--all", "--count")) == 2 + count


@pytest.mark.timeout(60)
def test_a_broken_template_stops_the_run_with_exit_2(make_repo, write_issues, tmp_path):
    repo = make_repo()
    broken = tmp_path / "tpl" / "default"
    broken.mkdir(parents=True)
    (broken / "PLAN.md.j2").write_text("{% for x in %}\n")
    result = run_process(
        tmp_path,
        str(write_issues([issue(1, "a")])),
        "--repo",
        str(repo),
        "--templates",
        str(tmp_path / "tpl"),
        "--backend",
        "dask-local",
        "--dask-workers",
        "1",
    )
    assert result.returncode == 2
    message = result.stderr.decode()
    assert "sage workers could not start" in message and "TemplateSyntaxError" in message
    assert branches(repo) == {}


@pytest.mark.timeout(60)
def test_an_external_scheduler_runs_the_batch_and_is_left_running(make_repo, write_issues, tmp_path, external_cluster):
    from distributed import Client

    repo = make_repo()
    items = [issue(n, f"Crash on save {n}", "app/search.py search_items", ["bug"]) for n in range(1, 31)]
    result = run_process(
        tmp_path,
        str(write_issues(items)),
        "--repo",
        str(repo),
        "--backend",
        "dask",
        "--scheduler",
        external_cluster.scheduler_address,
    )
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert sorted(r["number"] for r in report["issues"]) == list(range(1, 31))
    assert report["metrics"]["pool"]["tasks_done"] == 30
    assert len(branches(repo)) == 30
    with Client(external_cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert "runner-sage" not in client.run(lambda dask_worker: list(dask_worker.plugins)).popitem()[1]


def test_dask_options_are_validated(make_repo, write_issues, tmp_path):
    repo, path = make_repo(), str(write_issues([issue(1, "a")]))
    cases = [
        (["--backend", "dask"], "scheduler"),
        (["--backend", "nope"], "backend"),
        (["--backend", "dask-local", "--scheduler", "tcp://127.0.0.1:1"], "scheduler"),
        (["--dask-workers", "2"], "dask_workers"),
        (["--backend", "dask", "--scheduler", "tcp://h:8786", "--command", "true"], "command"),
    ]
    for extra, word in cases:
        result = run_process(tmp_path, path, "--repo", str(repo), *extra)
        assert result.returncode == 2 and word in result.stderr.decode(), (extra, result.stderr.decode())


@pytest.fixture
def sage_setup():
    from runner.sage import worker as sage

    return sage.SageSetup({}, None, "runner/issue-", ".runner/issues/{number}")


@pytest.mark.timeout(60)
def test_dask_giving_up_on_a_task_is_a_transient_failure(sage_setup):
    import dask

    from runner.core.retry import classify
    from runner.dask.pool import DaskPool
    from runner.dask.worker import DaskWorkerLost

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        pool = DaskPool(1, sage_setup)
        pool.start()
    try:
        crashed = pool.submit(os._exit, 1)
        assert isinstance(crashed.exception(timeout=30), DaskWorkerLost)
        assert classify(crashed.exception()) == "transient"
        assert pool.submit(abs, -7).result(timeout=30) == 7
        assert pool.stats().died == 1 and pool.stats().started == 2
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.timeout(60)
def test_a_task_past_its_time_limit_fails_and_its_worker_restarts_and_the_pool_scales(sage_setup):
    from concurrent.futures import wait as wait_futures

    from runner.core.retry import classify
    from runner.dask.pool import DaskPool
    from runner.pool.errors import TaskTimeout

    pool = DaskPool(2, sage_setup, task_timeout=1.5)
    pool.start()
    try:
        assert pool.live_size == 2 and len(pool.worker_pids()) == 2 and len(pool.stats().init_times_s) == 2
        hung, fine = pool.submit(time.sleep, 60), pool.submit(abs, -7)
        wait_futures([hung, fine], timeout=40)
        assert isinstance(hung.exception(), TaskTimeout) and classify(hung.exception()) == "transient"
        assert fine.result() == 7
        pool.resize(3)
        deadline = time.monotonic() + 30
        while pool.live_size != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool.live_size == pool.target_size == 3
        stats = pool.stats()
        assert stats.timeouts == 1 and stats.died == 0 and stats.tasks_done == 1
        assert pool.submit(abs, -3).result(timeout=30) == 3
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.timeout(90)
def test_with_the_local_backend_a_bare_remote_is_cloned_into_the_state_dir_and_fetched_again(
    make_repo, write_issues, tmp_path
):
    """The master's clone cache (the local backend writes there); Dask workers' own clones: test_dask_remote.py."""
    from runner.git.clones import clone_dir

    source = make_repo("source")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(source), str(remote))
    first = [issue(n, f"Login fails {n}", "app/auth/login.py") for n in (1, 2)]
    args = ["--repo", str(remote), "--workers", "1"]
    result = run_process(tmp_path, str(write_issues(first)), *args)
    assert result.returncode == 0, result.stderr.decode()
    clone = clone_dir((tmp_path / "state").resolve(), str(remote.resolve()))
    assert set(branches(clone)) == {"runner/issue-1", "runner/issue-2"}
    assert branches(remote) == {}
    git(source, "commit", "-q", "--allow-empty", "-m", "upstream moved on")
    git(source, "push", "-q", str(remote), "main")
    pushed_elsewhere = git(
        remote,
        "commit-tree",
        "-p",
        git(remote, "rev-parse", "main"),
        "-m",
        "plan from elsewhere",
        git(remote, "rev-parse", "main^{tree}"),
    )
    git(remote, "update-ref", "refs/heads/runner/issue-9", pushed_elsewhere)
    result = run_process(tmp_path, str(write_issues([*first, issue(3, "Export slow", "export_csv")])), *args)
    assert result.returncode == 0, result.stderr.decode()
    statuses = {r["number"]: r["status"] for r in latest_report(tmp_path / "reports")["issues"]}
    assert statuses == {1: "unchanged", 2: "unchanged", 3: "committed"}
    assert git(clone, "rev-parse", "runner/issue-3^") == git(remote, "rev-parse", "main")
    assert git(clone, "rev-parse", "runner/issue-9") == pushed_elsewhere
