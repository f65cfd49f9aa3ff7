"""The local labeling web app: one page and a small JSON API over a :class:`LabelingSession`.

Served by ``skprepal label``. Every request must carry the session's secret token (``?token=``
in the page's address, or the ``X-Skprepal-Token`` header the page sends on its API calls): the
app is meant for one person's machine, but any page open in that person's browser could
otherwise talk to it. Answers are saved by the session before the response is sent; a write
that fails comes back as HTTP 507 with the reason, and the page keeps the answer to retry.

API (JSON; ``annotator`` is optional everywhere, the server's default otherwise):

- ``GET /api/session`` -> ``{labels, annotator, n_items, name}``
- ``GET /api/next?annotator=`` -> ``{item, progress, signal}``
- ``POST /api/answer {row, label, annotator, request_id}`` -> ``{saved, item, progress, signal}``
  (``item``: the next item to show)
- ``POST /api/skip {row, annotator, request_id}`` -> the same
- ``POST /api/undo {annotator, request_id}`` -> ``{undone, item, progress, signal}`` (``item``:
  the item taken back, to label again; the next one when there was nothing to undo)
- ``GET /api/progress`` -> ``{progress, signal}``

Errors: ``{"error": message}`` with 400 (bad input: nothing was written), 403 (no or wrong
token), 507 (the session file cannot be written: nothing was saved).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from collections.abc import Callable
from importlib import resources
from typing import Any

from skprepal.exceptions import InvalidInputError, SessionStorageError

__all__ = ["create_app", "TOKEN_HEADER"]

logger = logging.getLogger(__name__)

#: The header the page sends the token in.
TOKEN_HEADER = "X-Skprepal-Token"
#: Bytes of a request body the API reads at most.
MAX_BODY = 64 * 1024

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the page's address
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_API_CSP = "default-src 'none'; frame-ancestors 'none'"
_PAGE_CSP = (
    "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


def _page_template() -> str:
    return resources.files("skprepal.labeling").joinpath("static/index.html").read_text("utf-8")


class _Refused(Exception):
    """A request refused with a status and a message for the page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def create_app(session: Any, *, token: str, annotator: str | None = None) -> Any:
    """The ASGI app (Starlette) that serves ``session`` to a browser.

    Parameters
    ----------
    session : LabelingSession
        The open session. The app calls it from worker threads, one call at a time.
    token : str
        The secret every request must carry (``secrets.token_urlsafe()`` makes a good one).
    annotator : str or None
        Who answers when a request names nobody (kept in the journal with each answer).

    Returns
    -------
    starlette.applications.Starlette
        Serve it with uvicorn (``skprepal label`` does) or test it with Starlette's
        ``TestClient``.

    Raises
    ------
    InvalidInputError
        For a token shorter than 16 characters.
    """
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, JSONResponse, Response
        from starlette.routing import Route
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InvalidInputError(
            f"the labeling app needs the 'label' extra ({exc.name} is missing): "
            "pip install 'skprepal[label]'"
        ) from None

    from skprepal.labeling._signal import LearningSignal

    if not isinstance(token, str) or len(token) < 16:
        raise InvalidInputError(
            "token must be a secret string of at least 16 characters, e.g. "
            "secrets.token_urlsafe()."
        )
    lock = threading.Lock()
    signal = LearningSignal(session._vectors)
    template = _page_template()

    def who(value: Any) -> str | None:
        if value is None or value == "":
            return annotator
        if not isinstance(value, str) or len(value) > 100:
            raise _Refused(400, "annotator must be a name of at most 100 characters.")
        return value

    def request_id_of(body: dict[str, Any]) -> str | None:
        value = body.get("request_id")
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 100):
            raise _Refused(400, "request_id must be a string of 1 to 100 characters.")
        return value

    def state(extra: dict[str, Any]) -> dict[str, Any]:
        """``extra`` plus progress and signal; call with the lock held."""
        return {**extra, "progress": session.progress(), "signal": signal.update(session.learner)}

    def next_item(person: str | None) -> dict[str, Any] | None:
        items = session.next(annotator=person)
        return items[0] if items else None

    def locked(work: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            with lock:
                return work()

        return run

    async def respond(work: Callable[[], dict[str, Any]]) -> Response:
        try:
            return JSONResponse(await run_in_threadpool(locked(work)))
        except _Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except InvalidInputError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except SessionStorageError as exc:
            logger.error("%s", exc)
            return JSONResponse({"error": str(exc)}, status_code=507)
        except Exception as exc:  # the page shows it; the server keeps running
            logger.exception("labeling request failed")
            return JSONResponse(
                {"error": f"the server failed: {type(exc).__name__}: {exc}"}, status_code=500
            )

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise _Refused(413, f"the request body is over {MAX_BODY} bytes.")
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise _Refused(400, "the request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _Refused(400, "the request body must be a JSON object.")
        return body

    async def post(request: Request, work: Callable[[dict[str, Any]], dict[str, Any]]):
        try:
            body = await body_of(request)
        except _Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        return await respond(lambda: work(body))

    async def page(request: Request) -> Response:
        nonce = secrets.token_urlsafe(16)
        html = template.replace("__NONCE__", nonce)
        csp = _PAGE_CSP.format(nonce=nonce)
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    async def about(request: Request) -> Response:
        return await respond(
            lambda: {
                "labels": list(session.labels),
                "annotator": annotator,
                "n_items": session.progress()["n_items"],
                "name": session.path.name,
            }
        )

    async def next_(request: Request) -> Response:
        person = request.query_params.get("annotator")
        return await respond(lambda: state({"item": next_item(who(person))}))

    async def progress(request: Request) -> Response:
        return await respond(lambda: state({}))

    def do_answer(body: dict[str, Any]) -> dict[str, Any]:
        person = who(body.get("annotator"))
        saved = session.answer(
            body.get("row"), body.get("label"), annotator=person, request_id=request_id_of(body)
        )
        return state({"saved": {**saved, "retried": saved["seq"] is None},
                      "item": next_item(person)})

    def do_skip(body: dict[str, Any]) -> dict[str, Any]:
        person = who(body.get("annotator"))
        saved = session.skip(body.get("row"), annotator=person, request_id=request_id_of(body))
        return state({"saved": {**saved, "retried": saved["seq"] is None},
                      "item": next_item(person)})

    def do_undo(body: dict[str, Any]) -> dict[str, Any]:
        person = who(body.get("annotator"))
        undone = session.undo(annotator=person, request_id=request_id_of(body))
        return state({"undone": undone, "item": undone or next_item(person)})

    async def answer(request: Request) -> Response:
        return await post(request, do_answer)

    async def skip(request: Request) -> Response:
        return await post(request, do_skip)

    async def undo(request: Request) -> Response:
        return await post(request, do_undo)

    routes = [
        Route("/", page, methods=["GET"]),
        Route("/api/session", about, methods=["GET"]),
        Route("/api/next", next_, methods=["GET"]),
        Route("/api/progress", progress, methods=["GET"]),
        Route("/api/answer", answer, methods=["POST"]),
        Route("/api/skip", skip, methods=["POST"]),
        Route("/api/undo", undo, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.session = session
    app.state.signal = signal
    return _Guard(app, token=token, response=JSONResponse)


class _Guard:
    """ASGI middleware: refuse requests without the token; add security headers to every reply."""

    def __init__(self, app: Any, *, token: str, response: Any) -> None:
        self.app = app
        self._token = token.encode()
        self._response = response

    @property
    def state(self) -> Any:
        """The wrapped app's state (``session``, ``signal``)."""
        return self.app.state

    def _allowed(self, scope: dict[str, Any]) -> bool:
        from urllib.parse import parse_qs

        given = None
        for name, value in scope.get("headers", []):
            if name.decode("latin-1").lower() == TOKEN_HEADER.lower():
                given = value.decode("latin-1")
        if given is None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [None])[0]
        return given is not None and secrets.compare_digest(given.encode(), self._token)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.decode("latin-1").lower() for name, _ in headers}
                extra = {**_HEADERS, "Content-Security-Policy": _API_CSP}
                for name, value in extra.items():
                    if name.lower() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if not self._allowed(scope):
            response = self._response(
                {"error": "this page needs the secret token: open the address with ?token=... "
                          "that `skprepal label` printed."},
                status_code=403,
            )
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def bind(host: str, port: int) -> Any:
    """A listening socket on ``host:port`` (port 0: a free one), so a busy port is an error
    before anything is embedded, and the address printed is the one served."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InvalidInputError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port "
            "(0 picks a free one)."
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(app: Any, sock: Any) -> None:
    """Serve ``app`` with uvicorn on the bound ``sock`` until Ctrl-C (or SIGTERM)."""
    import uvicorn

    # No access log: the token is in the page's address.
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then raises the Ctrl-C again
        pass
