"""The one templates object, its filters, and is_htmx()."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response
from jinja2 import pass_context
from jinja2_fragments.fastapi import Jinja2Blocks
from markupsafe import Markup

from ethicsforum import __version__
from ethicsforum.config import get_settings


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def trusted_html(value: str | None) -> Markup:
    """Mark HTML as safe; only for text already sanitised by ethicsforum.markdown."""
    return Markup(value or "")  # noqa: S704 - input comes from render_markdown only


def rendered_fragment(value: str | None) -> Markup:
    """Mark as safe a fragment one of our own (autoescaping) templates rendered earlier."""
    return Markup(value or "")  # noqa: S704 - output of our templates, kept (fragments.py)


def date(value: datetime | None, fmt: str = "%-d %B %Y") -> str:
    return value.strftime(fmt) if value else ""


def _page_context(request: Request) -> dict[str, Any]:
    """What every page needs: who is signed in and the anti-forgery token for its forms."""
    from ethicsforum.accounts.web import CSRF_FIELD, CSRF_HEADER, csrf_token_for

    state = getattr(request.state, "signed_in", None)
    return {
        "viewer": state.account if state else None,
        "csrf_token": csrf_token_for(request),
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
    }


def _route_paths(routes: Any, out: dict[str, str]) -> dict[str, str]:
    for route in routes:
        expand = getattr(route, "effective_candidates", None)
        if expand is not None:  # an included router, expanded with its prefix
            _route_paths(expand(), out)
        elif getattr(route, "name", None) and getattr(route, "path", None):
            out.setdefault(route.name, route.path)
    return out


@pass_context
def url_for(context: Any, name: str, /, **params: Any) -> str:
    """The path of a named route, as a site-relative URL.

    Starlette's url_for searches the route table on every call, which cost more than the
    rest of a 20-post page; the paths are read once per app and filled in here.
    """
    if name == "static":
        return f"/static/{quote(str(params['path']))}"
    app = context["request"].app
    paths: dict[str, str] | None = getattr(app.state, "route_paths", None)
    if paths is None:
        paths = app.state.route_paths = _route_paths(app.routes, {})
    template = paths.get(name)
    if template is None or any("{" + key not in template for key in params):
        return str(context["request"].url_for(name, **params).path)
    return template.format(**{k: quote(str(v), safe="") for k, v in params.items()})


def _build() -> Jinja2Blocks:
    t = Jinja2Blocks(
        directory=str(get_settings().templates_dir), context_processors=[_page_context]
    )

    t.env.filters["trusted_html"] = trusted_html
    t.env.filters["rendered_fragment"] = rendered_fragment
    t.env.filters["date"] = date
    t.env.globals["url_for"] = url_for
    # Templates ship with the code; checking every file's mtime on each render cost a tenth
    # of a discussion page under load.
    t.env.auto_reload = False

    t.env.globals["app_version"] = __version__
    t.env.globals["htmx_file"] = "htmx-2.0.11.min.js"
    return t


templates = _build()


def use_directory(directory: str) -> None:
    """Point the templates object at another folder (tests and installed packages)."""
    from jinja2 import FileSystemLoader

    templates.env.loader = FileSystemLoader(directory)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
    block_name: str | None = None,
) -> Response:
    response: Response = templates.TemplateResponse(
        request, name, context, status_code=status_code, block_name=block_name
    )
    response.headers["Vary"] = "HX-Request"
    return response
