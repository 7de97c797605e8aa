"""runner as a GitHub App: installation tokens through PyGithub's App auth, renewed mid-run, never leaked."""

from __future__ import annotations

import base64
import functools
import json
import re
from pathlib import Path

import pytest
from conftest import GH_REPO, TOKEN, git, latest_report

APP_ID = 4242
SHORT_LIFE_S = 4.0  # renewed a quarter of its life (1 s) before it runs out


@functools.cache
def rsa_pem(which: str = "app") -> str:
    """A throw-away RSA key, made once per session for each `which` (making one takes a while)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    ).decode()


class AppWorld:
    """A clone whose origin is the emulator's git remote (pushes need a valid token there), and the
    emulator knowing one App, installed on the repository's owner."""

    def __init__(self, root: Path, clone: Path) -> None:
        from runner.testing.emulator import Emulator, EmulatorConfig

        self.root = root
        self.pem = rsa_pem()
        self.key_file = root / "app.pem"
        self.key_file.write_text(self.pem)
        bare = root / "remote.git"
        git(root, "clone", "-q", "--bare", str(clone), str(bare))
        self.clone = clone
        self.emulator = Emulator(
            {GH_REPO: bare},
            tokens={TOKEN: "maintainer"},
            apps={APP_ID: self.pem},
            config=EmulatorConfig(content_per_minute=1000),
        )
        self.url = self.emulator.start()
        self.apps = self.emulator.app.apps
        git(clone, "remote", "add", "origin", f"{self.url}/{GH_REPO}.git")

    def issues_file(self, count: int) -> Path:
        """`count` issues opened by a maintainer, as GitHub lists them."""
        from github import Auth, Github

        repo = Github(base_url=self.url, auth=Auth.Token(TOKEN), retry=None).get_repo(GH_REPO)
        for n in range(1, count + 1):
            repo.create_issue(f"Issue {n}: login session bug", body=f"Login fails in app/auth/login.py ({n})")
        path = self.root / "issues.jsonl"
        path.write_text("".join(json.dumps(i.raw_data) + "\n" for i in repo.get_issues(state="open")))
        self.emulator.app.stats.reset()
        return path

    def argv(self, *extra: str) -> list[str]:
        return [
            "--repo",
            str(self.clone),
            "--github",
            GH_REPO,
            "--publish",
            "pr",
            "--commit-plan",
            "--app-id",
            str(APP_ID),
            "--app-key-file",
            str(self.key_file),
            "--notify-interval",
            "0",
            *extra,
        ]

    def env(self) -> dict[str, str]:
        return {"GITHUB_API_URL": self.url}


@pytest.fixture
def app_world(tmp_path, make_repo):
    worlds = []

    def start() -> AppWorld:
        worlds.append(AppWorld(tmp_path, make_repo("clone")))
        return worlds[-1]

    yield start
    for world in worlds:
        world.emulator.stop()


def secret_forms(world: AppWorld) -> list[str]:
    """The key's lines, every token and JWT, and the header form git would carry a token in."""
    key_lines = [line for line in world.pem.splitlines() if line and not line.startswith("-----")]
    tokens = [issued.token for issued in world.apps.issued]
    headers = [base64.b64encode(f"x-access-token:{t}".encode()).decode() for t in tokens]
    return key_lines + tokens + headers + list(world.apps.jwts)


def leaks(secrets: list[str], *places: Path, texts: tuple[str, ...] = ()) -> list[str]:
    found = []
    for place in places:
        for path in [place] if place.is_file() else [p for p in place.rglob("*") if p.is_file()]:
            data = path.read_bytes()
            found += [f"{path}: {s[:6]}..." for s in secrets if s.encode() in data]
    found += [f"output: {s[:6]}..." for s in secrets for text in texts if s in text]
    return found


def test_an_app_run_publishes_renewing_its_token_mid_run_and_leaks_nothing(app_world, runner_cli, tmp_path):
    world = app_world()
    issues = world.issues_file(3)
    # The first token runs out during the run, the next lasts an hour: 9 writes 0.4 s apart outlast the
    # first token's 3 s before renewal, however fast the rest of the run is.
    world.apps.queue_lifetimes(SHORT_LIFE_S)
    proc = runner_cli("process", str(issues), *world.argv("--write-interval", "0.4"), env=world.env())
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err
    report = latest_report(tmp_path / "reports")
    assert [i["status"] for i in report["issues"]] == ["published"] * 3
    assert all(i["pull_request"] for i in report["issues"])

    stats = world.emulator.stats
    first, second = world.apps.issued  # exactly one renewal
    assert second.expires_at - first.expires_at > 3000
    assert stats["bad_credentials"] == 0 and "401" not in stats["by_status"]
    assert world.apps.count("refused") == {}
    writes, pushes = world.apps.count("write"), world.apps.count("push")
    assert sum(writes.values()) == stats["writes"] and sum(pushes.values()) == stats["git_pushes"] >= 1
    assert writes.get(2, 0) >= 1  # writes went on with the renewed token
    from github import Auth, Github

    pulls = Github(base_url=world.url, auth=Auth.Token(TOKEN), retry=None).get_repo(GH_REPO).get_pulls(state="open")
    assert {pull.user.login for pull in pulls} == {f"app-{APP_ID}[bot]"}

    secrets = secret_forms(world)
    assert (
        leaks(secrets, tmp_path / "reports", tmp_path / "state", world.clone / ".git" / "config", texts=(out, err))
        == []
    )


def test_a_bad_key_file_is_a_usage_error_that_quotes_nothing(app_world, runner_cli, tmp_path):
    world = app_world()
    issues = world.issues_file(1)
    world.key_file.write_text("not a key\n" + world.pem.splitlines()[1] + "\n")
    proc = runner_cli("process", str(issues), *world.argv(), env=world.env())
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 2, err
    assert f"the App key file {world.key_file} is not an unencrypted PEM private key" in err
    assert "Traceback" not in err and world.pem.splitlines()[1] not in out + err
    assert world.emulator.stats["requests"] == 0


def app_settings(world: AppWorld, repository: str = GH_REPO, installation_id: int | None = None):
    from runner.config.github import GitHubSettings, app_credentials

    app = app_credentials(APP_ID, world.key_file, installation_id, repository)
    return GitHubSettings(api_url=world.url, app=app)


def test_a_wrong_key_or_installation_stops_before_any_work_as_a_usage_error(app_world):
    from runner.core.errors import ExitCode
    from runner.github.app_auth import AppAuthError, connect_app

    world = app_world()
    cases = [
        (GH_REPO, 999, "has no installation 999 (check --installation-id)"),
        ("acme/elsewhere", None, "the GitHub App 4242 is not installed on acme/elsewhere"),
        (GH_REPO, None, "GitHub refused the App 4242's credentials"),
    ]
    for repository, installation_id, message in cases:
        if "refused" in message:
            world.key_file.write_text(rsa_pem("another app"))
        with pytest.raises(AppAuthError, match=re.escape(message)) as raised:
            connect_app(app_settings(world, repository, installation_id))
        assert raised.value.exit_code == ExitCode.USAGE
    assert world.apps.issued == []


def test_the_key_and_the_app_settings_are_checked_where_they_are_read(tmp_path):
    from runner.config.github import AppCredentials, TokenError, app_credentials

    key_file = tmp_path / "app.pem"
    key_file.write_text(rsa_pem())
    app = app_credentials("17", key_file, None, GH_REPO)
    assert isinstance(app, AppCredentials) and app.app_id == 17
    assert "PRIVATE" not in repr(app) and app.private_key.splitlines()[1] not in repr(app)
    assert app_credentials(None, None, None, GH_REPO) is None
    for args, message in [
        ((17, None, None), "needs both app_id and app_key_file"),
        (("x", key_file, None), "app_id must be a positive whole number"),
        ((17, key_file, 0), "installation_id must be a positive whole number"),
        ((17, tmp_path / "missing.pem", None), "cannot read the App key file"),
    ]:
        with pytest.raises(TokenError, match=message):
            app_credentials(*args, GH_REPO)


def test_a_run_config_takes_the_app_from_runner_toml(tmp_path, make_repo):
    from runner.config import ConfigError, build_config

    key_file = tmp_path / "app.pem"
    key_file.write_text(rsa_pem())
    (tmp_path / "runner.toml").write_text(f'[github]\napp_id = 17\napp_key_file = "{key_file}"\ninstallation_id = 99\n')
    cfg = build_config(
        {"repo_args": [str(make_repo())], "github": GH_REPO, "state_dir": tmp_path / "s"}, tmp_path / "runner.toml"
    )
    app = cfg.github_settings.app
    assert (app.app_id, app.installation_id, app.repository, cfg.github_settings.token) == (17, 99, GH_REPO, "")
    with pytest.raises(ConfigError, match="a token file or a GitHub App"):
        build_config(
            {
                "repo_args": [str(make_repo("other"))],
                "github": GH_REPO,
                "state_dir": tmp_path / "s",
                "gh_token_file": key_file,
            },
            tmp_path / "runner.toml",
        )
