"""`make eval`: does runner find the files an issue's fix changes? Measured on real issues.

    python -m perf.eval_localization --instances PATH --bundles DIR [--repos requests,flask]
                                     [--out DIR] [--cache DIR] [--index-cache DIR]
                                     [--ablate] [--no-baseline-cache]

    instances (JSON Lines: instance_id, repo, base_commit, problem_statement, gold_files)
      ─> per repository: DIR/<name>.bundle ─> bare clone in --cache (once)
      ─> per instance, at tag base/<base_commit>:
           runner: the index the master builds for a commit, loaded as a sage loads it, then
                   the sage's analyse() on the issue (title = first line, body = the rest)
           BM25:   bm25s over every text file (path + content) of the same tree
      ─> Acc@1, Acc@5, MRR per repository and overall ─> eval-<ts>.json / .md in --out
      ─> with --ablate, every instance ranked again with parts of the ranking off
         (perf/eval_ablation.py) ─> eval-<ts>-ablation.md

BM25's answers are kept in --cache (keyed by tree, issue text and the baseline's own
source), so a second run only rebuilds runner's side; --no-baseline-cache recomputes them.

Data: SWE-bench Lite's instances and one git bundle per repository (see the project's
README, "How related files are found"). MRR is over each side's list (runner's related
files, BM25's first ten); a gold file not listed counts 0.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from perf.eval_ablation import ablation_markdown, ablation_ranks, ablation_table, write_ablation
from perf.eval_bm25 import Bm25Tree
from perf.eval_report import summary, write_results
from perf.eval_trees import bare_clone, commit_of
from runner.sage.localize import DEFAULT_SETTINGS, RankSettings

DEFAULT_OUT = Path(__file__).resolve().parent / "results"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".eval-cache"
BASELINE_DEPTH = 10
KEEP_INDEXES = 1000
FIELDS = ("instance_id", "repo", "base_commit", "problem_statement", "gold_files")


class UsageError(Exception):
    """Bad arguments or data: reported in one line, exit code 2."""


def load_instances(path: Path, repos: set[str] | None) -> list[dict[str, Any]]:
    if not path.is_file():
        raise UsageError(f"{path}: no such instances file")
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{number}: not JSON ({exc.msg})") from None
        missing = [f for f in FIELDS if not isinstance(item, dict) or f not in item]
        if missing:
            raise UsageError(f"{path}:{number}: missing {', '.join(missing)}")
        if repos is None or repo_name(item) in repos:
            found.append(item)
    return found


def repo_name(item: dict[str, Any]) -> str:
    return str(item["repo"]).rsplit("/", 1)[-1]


def issue_of(item: dict[str, Any], number: int):
    """The instance as the Issue a sage receives: the dataset ships title and body joined by a newline."""
    from runner.core.models import Issue

    title, _, body = str(item["problem_statement"]).partition("\n")
    return Issue(number, title.strip(), body, (), item["repo"], None, None, number, item["instance_id"])


class RunnerTree:
    """runner's own path for one commit: the master's index build, the sage's load, the sage's analyse()."""

    def __init__(self, git_dir: Path, commit: str, index_cache: Path) -> None:
        from runner.core.triage import Triager
        from runner.sage import codeindex

        started = time.perf_counter()
        built, path = codeindex.load_or_build(git_dir, commit, index_cache, keep=KEEP_INDEXES)
        built.close()
        self.build_s = time.perf_counter() - started
        self.index = codeindex.load(path)
        self.index_path = path
        self.triager = Triager()

    def rank(self, item: dict[str, Any], number: int, settings: RankSettings = DEFAULT_SETTINGS) -> dict[str, Any]:
        from runner.sage.analysis import analyse

        issue = issue_of(item, number)
        started = time.perf_counter()
        found = analyse(issue, self.triager.triage(issue), self.index, settings)
        return {
            "ranked": [f.path for f in found.related],
            "tests": [f.path for f in found.tests],
            "analyse_s": time.perf_counter() - started,
        }


def evaluate(
    instances: list[dict[str, Any]],
    bundles: Path,
    cache: Path,
    index_cache: Path,
    progress=print,
    bm25_cache: Path | None = None,
    ablate: bool = False,
) -> list[dict[str, Any]]:
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in instances:
        by_repo[repo_name(item)].append(item)
    records: list[dict[str, Any]] = []
    for name, items in sorted(by_repo.items()):
        bundle = bundles / f"{name}.bundle"
        if not bundle.is_file():
            raise UsageError(f"{bundle}: no bundle for {items[0]['repo']}")
        git_dir = bare_clone(bundle, cache)
        for item in items:
            records.append(_one(git_dir, item, index_cache, len(records) + 1, bm25_cache, ablate))
            last = records[-1]
            progress(
                f"{last['instance_id']:<32} runner {last['runner_rank'] or '-':>2}  "
                f"bm25 {last['bm25_rank'] or '-':>2}  first {last['runner'][:1]}"
            )
    return records


def _baseline(git_dir: Path, commit: str, text: str, cache: Path | None) -> tuple[list[str], float]:
    """BM25's first paths for `text` on `commit`, and the seconds its index took (0 when cached).

    Cached under `cache` by commit, text and the baseline's own source, so runs that only change
    runner's ranking do not spend three quarters of their time rebuilding the same BM25 indexes."""
    key = hashlib.sha256("\0".join([commit, text, str(BASELINE_DEPTH), _baseline_version()]).encode()).hexdigest()
    path = cache / f"{key[:32]}.json" if cache is not None else None
    if path is not None and path.is_file():
        return list(json.loads(path.read_text())), 0.0
    started = time.perf_counter()
    baseline = Bm25Tree(git_dir, commit)
    build_s = time.perf_counter() - started
    found = baseline.rank(text, BASELINE_DEPTH)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(found))
    return found, build_s


@lru_cache(maxsize=1)
def _baseline_version() -> str:
    here = Path(__file__).resolve().parent
    sources = b"".join((here / name).read_bytes() for name in ("eval_bm25.py", "eval_trees.py"))
    return hashlib.sha256(sources).hexdigest()


def _one(
    git_dir: Path, item: dict[str, Any], index_cache: Path, number: int, bm25_cache: Path | None, ablate: bool
) -> dict[str, Any]:
    commit = commit_of(git_dir, item["base_commit"])
    runner_tree = RunnerTree(git_dir, commit, index_cache)
    mine = runner_tree.rank(item, number)
    gold = list(item["gold_files"])
    ablation = (
        {"ablation": ablation_ranks(lambda settings: runner_tree.rank(item, number, settings)["ranked"], gold)}
        if ablate
        else {}
    )
    runner_tree.index.close()
    theirs, bm25_build_s = _baseline(git_dir, commit, str(item["problem_statement"]), bm25_cache)
    return {
        "instance_id": item["instance_id"],
        "repo": repo_name(item),
        "gold": gold,
        "runner": mine["ranked"],
        "runner_tests": mine["tests"],
        "bm25": theirs,
        "runner_rank": _rank(mine["ranked"], gold),
        "bm25_rank": _rank(theirs, gold),
        "runner_index_s": round(runner_tree.build_s, 3),
        "runner_analyse_s": round(mine["analyse_s"], 4),
        "bm25_index_s": round(bm25_build_s, 3),
        **ablation,
    }


def _rank(ranked: list[str], gold: list[str]) -> int | None:
    return next((i for i, path in enumerate(ranked, 1) if path in gold), None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m perf.eval_localization", description=__doc__.split("\n")[0])
    parser.add_argument("--instances", type=Path, required=True, help="JSON Lines of task instances")
    parser.add_argument("--bundles", type=Path, required=True, help="folder of <repo name>.bundle files")
    parser.add_argument("--repos", help="comma-separated repository names (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where eval-<ts>.json/.md go")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="bare clones of the bundles")
    parser.add_argument(
        "--index-cache", type=Path, help="keep runner's per-commit indexes here (default: a temporary folder)"
    )
    parser.add_argument(
        "--no-baseline-cache",
        action="store_true",
        help="recompute BM25 even where --cache holds its answer for the same tree, text and baseline code",
    )
    parser.add_argument(
        "--ablate",
        action="store_true",
        help="also rank every instance with parts of the ranking switched off (see perf/eval_ablation.py)",
    )
    args = parser.parse_args(argv)
    try:
        repos = {r.strip() for r in args.repos.split(",") if r.strip()} if args.repos else None
        instances = load_instances(args.instances, repos)
        if not instances:
            raise UsageError(f"{args.instances}: no instance of {', '.join(sorted(repos or ()))}")
        if not args.bundles.is_dir():
            raise UsageError(f"{args.bundles}: no such folder")
        started, commit = time.perf_counter(), _project_commit()
        with tempfile.TemporaryDirectory(prefix="runner-eval-") as scratch:
            bm25_cache = None if args.no_baseline_cache else args.cache / "bm25"
            records = evaluate(
                instances,
                args.bundles,
                args.cache,
                args.index_cache or Path(scratch),
                bm25_cache=bm25_cache,
                ablate=args.ablate,
            )
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    meta = {
        "stamp": stamp,
        "instances": str(args.instances),
        "repos": sorted(repos) if repos else "all",
        "wall_s": round(time.perf_counter() - started, 1),
        "commit": commit,
    }
    if args.ablate:
        meta["ablation"] = ablation_table(records)
    json_path, md_path = write_results(args.out, stamp, meta, records)
    print(summary(records))
    print(f"results: {json_path} {md_path}")
    if args.ablate:
        print(ablation_markdown(records))
        print(f"ablation: {write_ablation(args.out, stamp, records)}")
    return 0


def _project_commit() -> str:
    import subprocess

    out = subprocess.run(
        ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
