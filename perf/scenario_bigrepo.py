"""Scenario 8: related files on a large repository (the code index at scale).

    Python's standard library (its .py files), copied under `copies` directory names
    ──> one commit: full: 9 copies, about 16,000 files and 280 MB; quick: a slice
    ──> index build (first, in a fresh cache), then 10 files changed ──> incremental update
    ──> `runner process --dry-run` on 2,000 issues naming the library's functions
        (quick: 200), the index pre-built in the state directory as a nightly run finds it:
        issues/s, per-sage USS and the master's (psutil, sampled every 0.5 s)
    ──> the same run on the small bench repository, for the throughput comparison (full mode)

2,000 issues, as the issue that asked for this scenario does.

USS (unique set size) is what a process would give back if it ended: pages of the shared
index file that sit in the page cache are not in it, which is the point of sharing them.
"""

from __future__ import annotations

import json
import random
import shutil
import sysconfig
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from perf.common import Context, run_cli, runner_argv
from perf.workload import git, write_compact_issues

MB = 1024 * 1024


def sizes(quick: bool) -> dict[str, int]:
    return {"copies": 1, "max_files": 400, "issues": 200} if quick else {"copies": 9, "max_files": 0, "issues": 2000}


def stdlib_files(max_files: int) -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    found = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts and "__pycache__" not in p.parts)
    return found[:max_files] if max_files else found


def make_big_repo(path: Path, copies: int, max_files: int) -> tuple[Path, dict[str, Any]]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files = stdlib_files(max_files)
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    total = 0
    for n in range(copies):
        for source in files:
            target = path / f"pkg{n:02d}" / source.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            total += source.stat().st_size
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "standard library copies")
    return path, {"files": len(files) * copies, "bytes": total, "copies": copies}


def change_files(repo: Path, count: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    tracked = git(repo, "ls-files").splitlines()
    chosen = rng.sample(tracked, count)
    for n, name in enumerate(chosen):
        with (repo / name).open("a", encoding="utf-8") as out:
            out.write(f"\n\ndef bench_added_function_{n}(value):\n    return value\n")
    git(repo, "commit", "-q", "-am", f"change {count} files")
    return chosen


def issues_about(repo: Path, count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Issues that name a function of the library and the module it is in, as users write them."""
    from runner.sage.symbols import definitions, module_name

    rng = random.Random(seed)
    tracked = [p for p in git(repo, "ls-files").splitlines() if p.endswith(".py")]
    found: list[dict[str, Any]] = []
    while len(found) < count:
        path = rng.choice(tracked)
        names = [
            name
            for name, qual, _ in definitions(path, (repo / path).read_text(errors="replace"))
            if not name.startswith("_") and name == qual
        ]
        if not names:
            continue
        name, module = rng.choice(names), module_name(path) or path
        number = len(found) + 1
        found.append(
            {
                "number": number,
                "title": f"{name} gives a wrong result",
                "state": "open",
                "labels": ["bug"],
                "body": f"Calling `{module}.{name}()` returns the wrong value.\n\n```python\nfrom "
                f"{module.rsplit('.', 1)[0]} import {module.rsplit('.', 1)[-1]}\n```\n",
            }
        )
    return found


class UssSampler(threading.Thread):
    """Peak USS of the master and of each sage, and the master's peak RSS (psutil's full memory
    info, every 0.5 s)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.master, self.master_rss, self.sages = pid, 0, 0, {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(0.5):
            try:
                master = psutil.Process(self.pid)
                memory = master.memory_full_info()
                self.master, self.master_rss = max(self.master, memory.uss), max(self.master_rss, memory.rss)
                children = master.children(recursive=True)
            except psutil.Error:
                return
            for child in children:
                try:
                    if "forkserver" in " ".join(child.cmdline()) and child.ppid() != self.pid:
                        self.sages[child.pid] = max(self.sages.get(child.pid, 0), child.memory_full_info().uss)
                except psutil.Error:
                    continue

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def dry_run(ctx: Context, issues_path: Path, repo: Path, name: str, seed_index: Path | None) -> dict[str, Any]:
    work = ctx.path(name)
    if seed_index is not None:
        from runner.sage import codeindex

        (work / "state" / "cache").mkdir(parents=True)
        for path in codeindex.index_files(seed_index):
            shutil.copy2(path, work / "state" / "cache" / path.name)
    samplers: list[UssSampler] = []

    def watch(pid: int, _watcher: object) -> None:
        samplers.append(UssSampler(pid))
        samplers[-1].start()

    run = run_cli(
        runner_argv(
            str(issues_path),
            "--repo",
            str(repo),
            "--dry-run",
            "--workers",
            "auto",
            state=work / "state",
            reports=work / "reports",
        ),
        work / "reports",
        timeout_s=900,
        on_start=watch,
    )
    for sampler in samplers:
        sampler.stop()
    sampler = samplers[0] if samplers else None
    return {
        "exit_code": run.exit_code,
        "totals": run.totals,
        "issues_per_s": run.metrics.get("throughput_per_s"),
        "wall_s": round(run.wall_s, 2),
        "master_uss_mb": round(sampler.master / MB, 1) if sampler else None,
        "master_rss_mb": round(sampler.master_rss / MB, 1) if sampler else None,
        "sage_uss_mb": sorted((round(v / MB, 1) for v in sampler.sages.values()), reverse=True) if sampler else [],
    }


def run(ctx: Context) -> dict[str, Any]:
    from runner.sage import codeindex

    size = sizes(ctx.quick)
    work = ctx.path("bigrepo")
    started = time.perf_counter()
    repo, shape = make_big_repo(work / "repo", size["copies"], size["max_files"])
    result: dict[str, Any] = {
        "repository": shape,
        "issues": size["issues"],
        "make_repo_s": round(time.perf_counter() - started, 1),
    }
    cache = work / "cache"
    head = git(repo, "rev-parse", "HEAD")
    began = time.perf_counter()
    index, first_path = codeindex.load_or_build(repo, head, cache)
    result["index_build_s"] = round(time.perf_counter() - began, 2)
    result["index_bytes"] = first_path.stat().st_size
    result["index_files"], result["index_searched"] = index.file_count, index.doc_count
    index.close()
    change_files(repo, 10)
    began = time.perf_counter()
    index, path = codeindex.load_or_build(repo, git(repo, "rev-parse", "HEAD"), cache)
    result["incremental_10_files_s"] = round(time.perf_counter() - began, 2)
    result["incremental_kind"] = "delta" if index.layered else "full"
    result["incremental_bytes"] = path.stat().st_size
    index.close()
    issues_path = work / "issues.jsonl"
    issues_path.write_text("".join(json.dumps(i) + "\n" for i in issues_about(repo, size["issues"])))
    result["big"] = dry_run(ctx, issues_path, repo, "bigrepo-run", path)
    if not ctx.quick:
        small = write_compact_issues(work / "small-issues.jsonl", size["issues"])
        result["small"] = dry_run(ctx, small, ctx.fresh_repo("bigrepo-small"), "bigrepo-small-run", None)
        big_rate, small_rate = result["big"]["issues_per_s"], result["small"]["issues_per_s"]
        result["big_over_small_issues_per_s"] = round(big_rate / small_rate, 3) if big_rate and small_rate else None
    return result
