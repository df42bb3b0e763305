"""The FastAPI application: security middleware, error pages, static files and the routers.

:func:`create_app` builds it; ``sendcast serve`` runs it with uvicorn. Pages are rendered on
the server (Jinja2, autoescaped) and charts drawn by plotly.js served from the installed
plotly package, so nothing is fetched from the network.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import plotly
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sendcast import ATTRIBUTION, __version__
from sendcast.web import fmt
from sendcast.web.services import CouncilNotFound, Services, WebInputError

HERE = Path(__file__).resolve().parent
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
MAX_BODY_BYTES = 2_000_000  # a 1 MB scenario file plus the form around it
TOKEN_COOKIE = "sendcast_token"
TOKEN_ENV = "SENDCAST_TOKEN"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
log = logging.getLogger("sendcast.web")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before the app reads them
    (by Content-Length, and by counting when the client sends none)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(scope, send)
                return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge()
            return msg

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        text = f"The upload is too large: the limit is {self.limit // 1_000_000} MB (a scenario file may be 1 MB)."
        if str(scope.get("path", "")).startswith("/api/"):
            resp: Response = JSONResponse({"error": text}, status_code=413)
        else:
            resp = HTMLResponse(_plain_page("Upload too large", text), status_code=413)
        for k, v in SECURITY_HEADERS.items():
            resp.headers[k] = v

        async def _noop() -> Message:
            return {"type": "http.disconnect"}

        await resp(scope, _noop, send)


class _TooLarge(Exception):
    pass


class Guard:
    """Every response gets the security headers; with a token set, every request must carry
    it (``Authorization: Bearer TOKEN``, the cookie, or ``?token=TOKEN`` once, which sets the
    cookie and redirects to the address without it)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        cache = "public, max-age=3600" if path.startswith(("/static/", "/static-plotly/")) else "no-store"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                for k, v in (*SECURITY_HEADERS.items(), ("Cache-Control", cache)):
                    if k.lower().encode() not in have:
                        headers.append((k.lower().encode(), v.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if scope.get("method") == "POST":
            # a form or upload sent from another site's page (cross-site request forgery): refused
            headers = dict(scope.get("headers") or [])
            origin = headers.get(b"origin", b"").decode("latin-1")
            host = headers.get(b"host", b"").decode("latin-1")
            if origin and origin != "null" and urlsplit(origin).netloc != host:
                text = "This request came from another site's page and was refused."
                resp403: Response = (
                    JSONResponse({"error": text}, status_code=403)
                    if path.startswith("/api/")
                    else HTMLResponse(_plain_page("Request refused", text), status_code=403)
                )
                await resp403(scope, receive, send_with_headers)
                return
        if self.token:
            request = Request(scope)
            given = request.cookies.get(TOKEN_COOKIE) or ""
            auth = request.headers.get("authorization", "")
            if auth.lower().startswith("bearer "):
                given = auth[7:].strip()
            query_token = request.query_params.get("token")
            if query_token is not None:
                given = query_token
            resp: Response | None = None
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                text = "This sendcast server needs its access token: open the link you were given, or send it as "
                text += "'Authorization: Bearer TOKEN'."
                if path.startswith("/api/"):
                    resp = JSONResponse({"error": text}, status_code=401)
                else:
                    resp = HTMLResponse(_plain_page("Access token needed", text), status_code=401)
            elif query_token is not None and request.method == "GET":
                # drop the token from the address (and so from history and logs), keep it in a cookie
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                resp = RedirectResponse(path + (("?" + urlencode(rest)) if rest else ""), status_code=303)
                resp.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
            if resp is not None:
                await resp(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)


SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _plain_page(title: str, text: str) -> str:
    import html

    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<link rel='stylesheet' href='/static/site.css'></head><body><main><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(text)}</p><p><a href='/'>Back to England</a></p></main></body></html>"
    )


def create_app(
    services: Services | None = None,
    *,
    token: str | None = None,
    warm: bool = False,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The sendcast web app. ``token``: when set, every request must carry it (header
    ``Authorization: Bearer TOKEN``, or ``?token=TOKEN`` once, which sets a cookie).
    ``warm``: start the background forecast of every council for the England map at once.
    ``allowed_hosts``: the Host headers accepted (``sendcast serve`` on loopback passes the
    loopback names, so a web page cannot reach the server under another name: DNS rebinding)."""
    from sendcast.web import api, pages

    svc = services or Services()
    app = FastAPI(
        title="sendcast",
        version=__version__,
        description="SEND demand and high-needs budget forecasts for English councils. " + ATTRIBUTION,
        docs_url=None,  # Swagger UI loads from a CDN: /api/docs is rendered here instead
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.services = svc
    app.state.token = token
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "xml"]))
    env.globals.update(fmt=fmt, version=__version__, attribution=ATTRIBUTION)
    env.filters["plain"] = fmt.plain_number

    def common(request: Request) -> dict[str, Any]:
        return {"councils": svc.councils(), "data": svc.data_date()}

    templates = Jinja2Templates(env=env, context_processors=[common])
    app.state.templates = templates

    def error_response(
        request: Request, status: int, title: str, text: str, extra: dict[str, Any] | None = None
    ) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": text, **(extra or {})}, status_code=status)
        return templates.TemplateResponse(
            request, "error.html", {"title": title, "text": text, "extra": extra or {}}, status_code=status
        )

    @app.exception_handler(CouncilNotFound)
    async def _council(request: Request, exc: CouncilNotFound) -> Response:
        return error_response(
            request,
            404,
            "Council not found",
            f"No council matches '{exc.query}'."
            + (f" Closest: {', '.join(exc.suggestions)}." if exc.suggestions else ""),
            {"closest": exc.suggestions},
        )

    @app.exception_handler(WebInputError)
    async def _input(request: Request, exc: WebInputError) -> Response:
        return error_response(request, 400, "That request cannot be run", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body"))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        return error_response(request, 422, "That request has a bad value", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 405: "Not allowed here", 413: "Upload too large"}
        text = str(exc.detail) if exc.detail and exc.status_code != 404 else "There is no page at this address."
        return error_response(request, exc.status_code, titles.get(exc.status_code, "Request refused"), text)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("request failed: %s", request.url.path)
        resp = error_response(
            request,
            500,
            "Something went wrong",
            "sendcast could not finish this request. Nothing was changed; the server log has the details.",
        )
        # this handler answers outside the middleware: the headers are set here
        for k, v in SECURITY_HEADERS.items():
            resp.headers[k] = v
        return resp

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    app.add_middleware(Guard, token=token)  # outermost: no body is read before the token is checked
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/static-plotly/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.include_router(api.router)
    app.include_router(pages.router)
    if warm:
        svc.start_map_forecast()
    return app
