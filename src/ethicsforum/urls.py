"""Absolute addresses and cookie names, from ETHICSFORUM_BASE_URL rather than the Host header.

A request's Host header is the client's to choose; when BASE_URL is set every absolute link
the app builds (join links, case citations) uses it, and main.py refuses other hosts. Without
it (a laptop) the request's own address is used.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.types import Scope

from ethicsforum.config import Settings

# The browser session cookie's base name (`__Host-ef_session` over HTTPS); accounts owns it.
SESSION_COOKIE = "ef_session"


def _settings(scope: Scope) -> Settings | None:
    app = scope.get("app")
    state = getattr(app, "state", None)
    return getattr(state, "settings", None)


def absolute_url(request: Request, path: str) -> str:
    """`path` (starting with /) on BASE_URL when it is set, else on the request's own address."""
    settings = _settings(request.scope)
    base = settings.base_url if settings is not None and settings.base_url else None
    if base is None:
        base = str(request.base_url)
    return base.rstrip("/") + "/" + path.lstrip("/")


def absolute_for(request: Request, name: str, /, **params: Any) -> str:
    """The absolute address of a named route (what `request.url_for` gives, minus the Host)."""
    return absolute_url(request, str(request.app.url_path_for(name, **params)))


def is_https(scope: Scope) -> bool:
    """Whether the browser talks HTTPS: the request's scheme (set from X-Forwarded-Proto by
    `serve --proxy-headers`), or an https BASE_URL (TLS ended by a proxy that does not say)."""
    if scope.get("scheme") in {"https", "wss"}:
        return True
    settings = _settings(scope)
    return settings is not None and settings.base_is_https


def cookie_name(scope: Scope, name: str) -> str:
    """`__Host-name` over HTTPS (Secure, path /, no Domain: no subdomain can plant or read
    it), the plain name over HTTP, where browsers refuse the prefix.

    Only the name for this scheme is read, so moving a site from HTTP to HTTPS signs everyone
    out once (documented in the README).
    """
    return f"__Host-{name}" if is_https(scope) else name
