"""The application factory: routers, static files, error handlers and security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from ethicsforum import __version__, errors, keys, templating
from ethicsforum.config import Settings, get_settings
from ethicsforum.db import make_engine
from ethicsforum.discussions.events import Broker
from ethicsforum.fragments import FragmentCache, ResponseCache
from ethicsforum.security import ConcurrencyLimit, InputGuard, SecurityHeaders

STATIC_DIR = Path(__file__).parent / "static"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for these settings (the environment's when none are given)."""
    from ethicsforum.accounts import api as accounts_api
    from ethicsforum.accounts import views as accounts_views
    from ethicsforum.accounts.web import CsrfCookie, csrf_protect
    from ethicsforum.aggregation import api as aggregation_api
    from ethicsforum.aggregation import views as aggregation_views
    from ethicsforum.aggregation.service import SummaryCache
    from ethicsforum.cases import api as cases_api
    from ethicsforum.cases import curation_views as cases_curation_views
    from ethicsforum.cases import views as cases_views
    from ethicsforum.discussions import api as discussions_api
    from ethicsforum.discussions import stream as discussions_stream
    from ethicsforum.discussions import views as discussions_views
    from ethicsforum.moderation import api as moderation_api
    from ethicsforum.moderation import views as moderation_views

    settings = settings or get_settings()
    app = FastAPI(
        title="ethicsforum",
        version=__version__,
        description="Structured, framework-tagged debate on clinical ethics cases.",
        lifespan=lifespan,
        # Every unsafe cookie-carrying request, on any route present or future, is checked.
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings
    keys.use_secret(settings.resolved_secret_key())
    app.state.engine = make_engine(settings)
    app.state.broker = Broker(
        app.state.engine,
        max_streams=settings.max_streams,
        per_session=settings.max_streams_per_session,
    )
    app.state.summaries = SummaryCache()
    app.state.fragments = FragmentCache()
    app.state.responses = ResponseCache()
    app.state.live_renders = discussions_stream.LiveRenders()
    templating.use_directory(str(settings.templates_dir))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(accounts_api.router, responses=errors.API_RESPONSES)
    app.include_router(cases_api.router, responses=errors.API_RESPONSES)
    app.include_router(discussions_api.router, responses=errors.API_RESPONSES)
    app.include_router(moderation_api.router, responses=errors.API_RESPONSES)
    app.include_router(aggregation_api.router, responses=errors.API_RESPONSES)
    app.include_router(aggregation_views.router)
    app.include_router(moderation_views.router)
    app.include_router(discussions_views.router)
    app.include_router(discussions_stream.router)

    app.include_router(cases_views.router)
    app.include_router(cases_curation_views.router)
    app.include_router(accounts_views.router)

    @app.get("/healthz", include_in_schema=False, name="health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    errors.install(app)
    document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = errors.errors_are_json(document())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(errors.LiteralApiPaths)
    app.add_middleware(CsrfCookie)
    app.add_middleware(InputGuard)
    app.add_middleware(ConcurrencyLimit, max_requests=settings.max_requests)
    if settings.base_host is not None:
        # With a public address set, a request naming another host is refused (400) before
        # anything could echo it; localhost stays allowed for health checks on the machine.
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(
            TrustedHostMiddleware,
            allowed_hosts=[settings.base_host, "localhost", "127.0.0.1", "::1"],
            www_redirect=False,
        )
    # Inside SecurityHeaders, so even an unexpected 500 carries them.
    app.add_middleware(errors.LastResort)
    app.add_middleware(SecurityHeaders)  # outermost: refusals above carry the headers too

    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await app.state.broker.start()
    yield
    await app.state.broker.stop()
    app.state.engine.dispose()
