"""Render an issue's files from Jinja2 templates, safely.

Templates come from the user's `--templates DIR` first, then the ones shipped
with runner; `<kind>/NAME.j2` overrides `default/NAME.j2`. Rendering uses the
sandboxed environment with undefined variables as errors. Issue text is only
ever passed in as *data*: Jinja never parses it, so `{{ 7*7 }}` or
`{% include '/etc/passwd' %}` in a title comes out exactly as written.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

SUFFIX = ".j2"
COMMENT_TEMPLATE = "github/triage-comment.md.j2"
PLAN_NAME = "PLAN.md"


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with a short way to `issue.number` when `issue` is a plain dict.

    Jinja tries an attribute first and then the key, and the sandbox vets each attribute
    it finds; the context runner builds is plain dicts of data, so their keys are looked
    up first (a value is never unsafe) and anything else takes the sandbox's own path.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._safe_attributes: dict[tuple[type, str], bool] = {}

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            value = obj.get(attribute, _MISSING)
            if value is not _MISSING:
                return value
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """The sandbox's answer, remembered per type and attribute name for objects that are
        what their type says (the answer depends on nothing else): `summary.splitlines` and
        `loop.last` are asked for on every render."""
        kind = type(obj)
        if obj.__class__ is not kind:
            return super().is_safe_attribute(obj, attr, value)
        key = (kind, attr)
        safe = self._safe_attributes.get(key)
        if safe is None:
            safe = self._safe_attributes[key] = super().is_safe_attribute(obj, attr, value)
        return safe


_MISSING = object()


def shipped_templates() -> Path:
    """Templates installed as package data (`runner/templates`), or the checkout's `templates/`."""
    installed = Path(str(resources.files("runner"))) / "templates"
    if (installed / "default").is_dir():
        return installed
    return Path(__file__).resolve().parents[2] / "templates"


class Renderer:
    """Compiles every template once (sage start-up), then renders per issue.

    `auto_reload=False`: templates do not change during a run, and a kind template that
    extends `default/` would otherwise stat its parent's file on every render. Each
    template's globals become a plain dict for the same reason: nothing changes them
    during a run, and copying the live ChainMap into every render's context was a
    quarter of the time Jinja spent per issue.
    """

    def __init__(self, user_dir: Path | None = None) -> None:
        roots = [str(p) for p in (user_dir, shipped_templates()) if p is not None]
        self.env = _Sandbox(
            loader=jinja2.FileSystemLoader(roots),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        self.outputs = self._output_names()
        if not self.outputs:
            raise FileNotFoundError(f"no templates found in default/ under {', '.join(roots)}")
        self._compiled: dict[tuple[str, str], jinja2.Template] = {}

    def _output_names(self) -> tuple[str, ...]:
        names = {
            name[len("default/") : -len(SUFFIX)]
            for name in self.env.list_templates(extensions=[SUFFIX[1:]])
            if name.startswith("default/") and name.count("/") == 1
        }
        return tuple(sorted(names))

    def precompile(self, kinds: tuple[str, ...]) -> int:
        """Compile every template now, so a broken one stops the run before any issue."""
        for name in self.env.list_templates(extensions=[SUFFIX[1:]]):
            self.env.get_template(name)
        for kind in kinds:
            for name in self.outputs:
                self._template(kind, name)
        return len(self._compiled)

    def render(self, kind: str, context: Mapping[str, Any]) -> dict[str, str]:
        return {name: self._template(kind, name).render(context) for name in self.outputs}

    def render_comment(self, kind: str, context: Mapping[str, Any]) -> str:
        """The triage comment (`github/triage-comment.md.j2`). Its `checklist` is the plan's
        checklist block for the kind, so a kind template's own checklist shows on the issue too."""
        checklist = ""
        if PLAN_NAME in self.outputs:
            plan = self._template(kind, PLAN_NAME)
            block = plan.blocks.get("checklist")
            if block is not None:
                checklist = "".join(block(plan.new_context(dict(context)))).strip()
        template = self._compiled.get(("", COMMENT_TEMPLATE))
        if template is None:
            template = self._compiled[("", COMMENT_TEMPLATE)] = self.env.get_template(COMMENT_TEMPLATE)
        return template.render({**context, "checklist": checklist})

    def _template(self, kind: str, name: str) -> jinja2.Template:
        key = (kind, name)
        template = self._compiled.get(key)
        if template is None:
            template = self.env.select_template([f"{kind}/{name}{SUFFIX}", f"default/{name}{SUFFIX}"])
            template.globals = dict(template.globals)
            self._compiled[key] = template
        return template


_shipped: Renderer | None = None


def preload_shipped(kinds: tuple[str, ...]) -> None:
    """Compile the shipped templates now, in the process sages are forked from
    (`runner.sage.preload`): each sage then starts with them compiled, instead of spending
    about 50 ms on it while a run's first issues wait."""
    global _shipped
    renderer = Renderer(None)
    renderer.precompile(kinds)
    _shipped = renderer


def renderer_for(user_dir: Path | None, kinds: tuple[str, ...]) -> Renderer:
    """A renderer with every template compiled: the preloaded one for the shipped templates
    when this process has it, else a new one."""
    if user_dir is None and _shipped is not None:
        return _shipped
    renderer = Renderer(user_dir)
    renderer.precompile(kinds)
    return renderer
