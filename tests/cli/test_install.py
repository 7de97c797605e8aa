"""`pip install .` puts the templates where an installed runner finds them, under the
distribution name `issue-runner` (`runner` on the package index is another project)."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import branches, issue

ROOT = Path(__file__).resolve().parents[2]
DISTRIBUTION = "issue-runner"


@pytest.mark.timeout(300)
def test_installed_package_runs_from_another_directory(tmp_path, make_repo, write_issues):
    target = tmp_path / "site"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert build.returncode == 0, build.stderr
    assert (target / "runner" / "templates" / "default" / "PLAN.md.j2").is_file()
    assert (target / "runner" / "cli" / "demo_data" / "issues.json").is_file()
    source_packages = {
        p.parent.relative_to(ROOT) for p in (ROOT / "runner").rglob("__init__.py") if "demo_data" not in p.parts
    }
    assert all((target / package / "__init__.py").is_file() for package in source_packages), source_packages
    assert (target / "runner" / "py.typed").is_file()
    installed = list(importlib.metadata.distributions(path=[str(target)]))
    assert [d.metadata["Name"] for d in installed] == [DISTRIBUTION]
    assert installed[0].entry_points.select(group="console_scripts", name="runner")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    repo = make_repo()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import runner; print(runner.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.startswith(str(target)), where.stdout + where.stderr
    path = write_issues([issue(3, "Login fails", "app/auth/login.py")])
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner",
            "process",
            str(path),
            "--repo",
            str(repo),
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "reports"),
            "-q",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert set(branches(repo)) == {"runner/issue-3"}
