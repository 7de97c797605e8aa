"""The one validated configuration object, and how it is read.

    runner.toml ─┐
                 ├─ load.build_config ──> Config (settings) ──> every stage, passed down
    the command ─┘        (checked once: a mistake is a ConfigError, exit 2)

`settings` holds the frozen object, `github` the `[github]` table and the token reader,
`load` the parsing and assembly, `checks` the checks of single values. Nothing here imports a
stage: stages import config.
"""

from __future__ import annotations

from runner.config.github import GitHubSettings, TokenError, api_url, read_token
from runner.config.load import build_config, read_toml
from runner.config.settings import DEFAULT_CONFIG_NAME, Config, ConfigError, default_state_dir

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "Config",
    "ConfigError",
    "GitHubSettings",
    "TokenError",
    "api_url",
    "build_config",
    "default_state_dir",
    "read_token",
    "read_toml",
]
