"""What the sages are asked to return besides the plan: the triage comment and its links' web host."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.config import Config
from runner.config.github import GitHubSettings
from runner.run.repositories import sage_outputs


def config(api_url: str, publish: str, commit_plan: bool = False) -> Config:
    return Config(
        repos={},
        default_repo=None,
        state_dir=Path("/s"),
        report_dir=Path("/r"),
        github="acme/app",
        github_settings=GitHubSettings(api_url=api_url, publish=publish),
        commit_plan=commit_plan,
    )


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://api.octo.ghe.com", "https://octo.ghe.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_triage_links_go_to_the_web_host_of_the_api(api_url: str, web: str) -> None:
    outputs = sage_outputs(config(api_url, "triage"), {"": None, "acme/lib": None})  # type: ignore[dict-item]
    assert outputs.comment and outputs.web_urls == {"": f"{web}/acme/app", "acme/lib": f"{web}/acme/lib"}


def test_pr_mode_renders_no_comment_and_passes_commit_plan_on() -> None:
    outputs = sage_outputs(config("https://api.github.com", "pr", commit_plan=True), {"": None})  # type: ignore[dict-item]
    assert not outputs.comment and outputs.web_urls == {} and outputs.commit_plan
