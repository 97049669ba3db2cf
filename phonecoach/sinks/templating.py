"""The Jinja2 environment every HTML page renders with: the package's templates, autoescape
on for all of them (so no page can forget it), and the shared ``clock`` filter."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..core.timeline import clock


@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("phonecoach.sinks", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["clock"] = clock
    return env


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)
