"""Label Studio's ML backend protocol over a :class:`LabelingSession`: skprepal as the brain.

Label Studio calls an ML backend over HTTP (what ``label-studio-ml-backend``'s ``api.py``
serves): ``GET /health``, ``POST /setup`` when the backend is connected, ``POST /predict`` with a
batch of tasks, ``POST /webhook`` with project events (Label Studio registers
``<backend>/webhook`` for every event of the project when the backend is added) and, in older
versions, ``POST /train`` with every annotated task. This module answers them from a session:

- ``/predict`` returns, per task, skprepal's suggestion as a ``choices`` result for the project's
  ``Choices`` control, with ``score`` = the model's confidence in it (its largest class
  probability), so that sorting the Data Manager by prediction score ascending lists the least
  certain tasks first; ``model_version`` names the model as of the last journal entry, so Label
  Studio asks again once the model has changed.
- Every annotation event is journaled before the reply: created or updated -> an answer, a
  cancelled (skipped) annotation -> a skip (unless the item already has a label), deleted -> the
  answers it made are undone. The journal is the session file's, so all of it survives a restart.
- A task finds its session row by ``data["skprepal_id"]`` (skprepal's Label Studio exports put it
  there), else by its text.

The session runs in one worker thread (the session is not for concurrent use); the event loop
stays free, so ``/health`` answers while a large batch is predicted.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import os
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError, SessionStorageError
from skprepal.labeling._formats import (
    ID_KEY,
    LS_FROM_NAME,
    LS_TEXT_KEY,
    LS_TO_NAME,
    ChoicesControl,
    model_version,
    parse_label_config,
    select_control,
)
from skprepal.labeling._import_label_studio import ls_outcome, ls_person

__all__ = ["label_studio_backend", "serve_label_studio_backend"]

logger = logging.getLogger(__name__)

#: Webhook actions that carry annotations (Label Studio sends the plural for bulk creation).
_CREATED = ("ANNOTATION_CREATED", "ANNOTATIONS_CREATED", "ANNOTATION_UPDATED")
#: Label Studio sends ANNOTATIONS_DELETED; the ML backend SDK lists ANNOTATION_DELETED.
_DELETED = ("ANNOTATIONS_DELETED", "ANNOTATION_DELETED")

# Which session entries each Label Studio annotation made, to undo them when it is deleted
# (the delete event carries annotation ids only). Kept in the session file beside the journal.
_MAP_SCHEMA = """
CREATE TABLE IF NOT EXISTS label_studio_annotations (
    project TEXT NOT NULL,
    annotation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (project, annotation, seq)
)
"""


class _Backend:
    """The protocol's logic; every method runs in the one worker thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.session: Any = None
        self._db: sqlite3.Connection | None = None
        self._control: ChoicesControl | None = None  # the connected project's, from /setup
        self._controls: dict[str, ChoicesControl] = {}

    # -- opening -------------------------------------------------------------------------------

    def open(self) -> None:
        from skprepal.labeling import LabelingSession

        self.session = LabelingSession.open(self.path)
        try:
            self._db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            self._db.execute(_MAP_SCHEMA)
        except sqlite3.Error as exc:
            raise SessionStorageError(
                f"cannot write to the session file {str(self.path)!r} ({exc}); the Label "
                "Studio backend journals every annotation there."
            ) from None
        self._by_text: dict[str, int] = {}
        for row, text in enumerate(self.session.texts):
            self._by_text.setdefault(text, row)
        logger.info("Label Studio backend on %s: %s", self.path, self.session.progress())

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
        if self.session is not None:
            self.session.close()

    # -- helpers -------------------------------------------------------------------------------

    def control_for(self, config: Any, where: str) -> ChoicesControl | None:
        """The project's Choices control for the session's labels (cached per config)."""
        if not isinstance(config, str) or not config.strip():
            return self._control
        if config not in self._controls:
            controls = parse_label_config(config, where=where)
            self._controls[config] = select_control(controls, self.session.labels, where=where)
        return self._controls[config]

    def row_of(self, task: Any, control: ChoicesControl | None) -> tuple[int | None, str | None]:
        """``(row, text)`` of a task: by skprepal's id in ``data``, else by text."""
        data = task.get("data") if isinstance(task, dict) else None
        if not isinstance(data, dict):
            raise InvalidInputError(f"task {task!r:.200} has no 'data' object.")
        key = control.text_key if control is not None and control.text_key else LS_TEXT_KEY
        text = data.get(key)
        if not isinstance(text, str):
            strings = [v for k, v in data.items() if isinstance(v, str) and k != ID_KEY]
            text = strings[0] if len(strings) == 1 else None
        if data.get(ID_KEY) is not None:
            try:
                row = self.session.row_of(data[ID_KEY])
            except InvalidInputError:
                row = None
            if row is not None and (text is None or self.session.texts[row] == text):
                return row, text
        return (self._by_text.get(text) if text is not None else None), text

    def version(self) -> str:
        return model_version(self.session)

    # -- endpoints -------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        progress = self.session.progress()
        return {
            "status": "UP",
            "model_class": "skprepal.labeling.LabelingSession",
            "session": str(self.path),
            "model_version": self.version(),
            "n_labeled": progress["n_labeled"],
            "n_pool": progress["n_pool"],
        }

    def setup(self, body: dict) -> dict[str, Any]:
        control = self.control_for(body.get("schema"), "the project's labeling config")
        if control is not None:
            self._control = control
        return {"model_version": self.version()}

    def predict(self, body: dict) -> dict[str, Any]:
        tasks = body.get("tasks")
        if not isinstance(tasks, list):
            raise InvalidInputError("the request has no 'tasks' list.")
        control = self.control_for(body.get("label_config"), "the request's label_config")
        from_name = control.from_name if control else LS_FROM_NAME
        to_name = control.to_name if control else LS_TO_NAME
        learner = self.session.learner  # brings in answers other processes journaled
        version = self.version()
        if learner.estimator_ is None:  # nothing labeled yet: no model, no suggestion
            results = [{"result": [], "score": None, "model_version": version} for _ in tasks]
            return {"results": results, "model_version": version}
        suggestions: list[tuple[str, float] | None] = [None] * len(tasks)
        outside: dict[int, str] = {}
        for k, task in enumerate(tasks):
            row, text = self.row_of(task, control)
            if row is not None:
                item = self.session.item(row)
                suggestions[k] = (item["suggestion"], item["confidence"])
            elif text is not None:
                outside[k] = text
            else:
                raise InvalidInputError(
                    f"task {task.get('id')!r} has neither {ID_KEY!r} nor a text in its data."
                )
        if outside:  # texts the session does not hold: embed them now
            vectors = self.session.embedder.transform(list(outside.values()))
            proba = learner.predict_proba(vectors)
            for k, p in zip(outside, proba, strict=True):
                best = int(p.argmax())
                suggestions[k] = (str(learner.classes_[best]), float(p[best]))
        results = []
        for label, confidence in suggestions:
            token = control.token_of(label) if control else label
            region = {
                "from_name": from_name,
                "to_name": to_name,
                "type": "choices",
                "value": {"choices": [token]},
                "score": confidence,
            }
            results.append({"result": [region], "score": confidence, "model_version": version})
        return {"results": results, "model_version": version}

    def apply(self, pairs: Sequence[tuple[dict, dict]], project: str, control: Any) -> dict:
        """Journal annotations (``(task, annotation)`` pairs) in one transaction."""
        session = self.session
        labeled = set(session.labeled()[0])
        writes, annotation_ids, unknown, no_label = [], [], [], 0
        for task, annotation in pairs:
            ident = annotation.get("id") if isinstance(annotation, dict) else None
            where = f"annotation {ident} of task {task.get('id')}"
            kind, token = ls_outcome(
                annotation, from_name=control.from_name if control else None, where=where
            )
            if kind is None:
                no_label += 1
                continue
            row, _ = self.row_of(task, control)
            if row is None:
                unknown.append(task.get("id"))
                continue
            label = None if token is None else (control.label_of(token) if control else token)
            if kind == "skip" and row in labeled:
                no_label += 1  # a skip never overrides a label
                continue
            if kind == "answer":
                labeled.add(row)
            person = ls_person(annotation)
            writes.append(
                {
                    "kind": kind,
                    "row": row,
                    "label": label,
                    "annotator": "label-studio" if person is None else f"label-studio:{person}",
                    "request_id": (
                        f"label-studio:{project}:{ident}:{annotation.get('updated_at')}:"
                        f"{kind}:{label}"
                    ),
                }
            )
            annotation_ids.append(str(ident))
        if unknown:
            logger.warning(
                "Label Studio tasks %s are not in the session %s (no %s, no matching text): "
                "their annotations are not journaled.", unknown[:10], self.path, ID_KEY,
            )
        seqs = session._write_many(writes) if writes else []
        made = zip(annotation_ids, seqs, strict=True)
        with self._db:
            self._db.executemany(
                "INSERT OR IGNORE INTO label_studio_annotations VALUES (?, ?, ?)",
                [(project, a, s) for a, s in made if s is not None],
            )
        return {
            "answered": sum(1 for w, s in zip(writes, seqs, strict=True)
                            if s is not None and w["kind"] == "answer"),
            "skipped": sum(1 for w, s in zip(writes, seqs, strict=True)
                           if s is not None and w["kind"] == "skip"),
            "already_journaled": sum(s is None for s in seqs),
            "without_label": no_label,
            "unknown_tasks": unknown,
            "model_version": self.version(),
        }

    def delete(self, project: str, annotation_ids: Sequence[Any]) -> dict:
        undone = 0
        for ident in map(str, annotation_ids):
            seqs = [
                r[0] for r in self._db.execute(
                    "SELECT seq FROM label_studio_annotations WHERE project = ? AND annotation = ? "
                    "ORDER BY seq DESC", (project, ident),
                )
            ]
            for seq in seqs:
                taken = self.session.undo(
                    seq=seq, annotator="label-studio",
                    request_id=f"label-studio:{project}:{ident}:deleted:{seq}",
                )
                undone += taken is not None
            with self._db:
                self._db.execute(
                    "DELETE FROM label_studio_annotations WHERE project = ? AND annotation = ?",
                    (project, ident),
                )
        return {"undone": undone, "model_version": self.version()}

    def webhook(self, body: dict) -> tuple[int, dict]:
        action = body.get("action")
        project = body.get("project")
        project_id = str(project.get("id")) if isinstance(project, dict) else str(project)
        config = project.get("label_config") if isinstance(project, dict) else None
        if action in _CREATED:
            annotations = body.get("annotation")
            tasks = body.get("task")
            annotations = annotations if isinstance(annotations, list) else [annotations]
            tasks = tasks if isinstance(tasks, list) else [tasks]
            by_id = {t.get("id"): t for t in tasks if isinstance(t, dict)}
            pairs = []
            for annotation in annotations:
                if not isinstance(annotation, dict):
                    raise InvalidInputError(f"{action} carries no annotation object.")
                task = by_id.get(annotation.get("task"), tasks[0] if len(tasks) == 1 else None)
                if not isinstance(task, dict):
                    raise InvalidInputError(
                        f"{action}: no task object for annotation {annotation.get('id')}."
                    )
                pairs.append((task, annotation))
            control = self.control_for(config, "the project's labeling config")
            return 201, {"status": "ok", "result": self.apply(pairs, project_id, control)}
        if action in _DELETED:
            deleted = body.get("annotations") or [body.get("annotation")]
            ids = [a.get("id") for a in deleted if isinstance(a, dict) and "id" in a]
            return 201, {"status": "ok", "result": self.delete(project_id, ids)}
        if action == "START_TRAINING":
            # The head refits on every answer; bring in other processes' answers and report.
            progress = self.session.progress()
            result = {"n_labeled": progress["n_labeled"], "model_version": self.version()}
            return 201, {"status": "ok", "result": result}
        return 200, {"status": "ignored", "action": action}

    def train(self, body: dict) -> dict:
        tasks = body.get("annotations")
        if not isinstance(tasks, list):
            raise InvalidInputError("the /train request has no 'annotations' list of tasks.")
        project = str(body.get("project") or "").split(".", 1)[0]
        control = self.control_for(body.get("label_config"), "the request's label_config")
        pairs = [
            (task, annotation)
            for task in tasks if isinstance(task, dict)
            for annotation in (task.get("annotations") or [])
        ]
        return {"status": "ok", "result": self.apply(pairs, project, control)}


class _BasicAuth:
    """HTTP basic auth in front of every endpoint, as Label Studio sends it when configured."""

    def __init__(self, app: Any, user: str, password: str) -> None:
        self.app = app
        self._expected = f"{user}:{password}".encode()

    def _allowed(self, header: bytes | None) -> bool:
        if not header or not header[:6].lower() == b"basic ":
            return False
        try:
            given = base64.b64decode(header[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._expected)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            if not self._allowed(headers.get(b"authorization")):
                from starlette.responses import PlainTextResponse

                response = PlainTextResponse(
                    "Unauthorized", 401, headers={"WWW-Authenticate": 'Basic realm="skprepal"'}
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def label_studio_backend(
    session: str | os.PathLike,
    *,
    basic_auth_user: str | None = None,
    basic_auth_pass: str | None = None,
) -> Any:
    """A Label Studio ML backend (an ASGI app) over the session file ``session``.

    Parameters
    ----------
    session : path-like
        A session file made by :meth:`LabelingSession.create`; opened when the app starts.
        Other processes (``skprepal label``, another annotator) may use the same file.
    basic_auth_user, basic_auth_pass : str or None
        When both are given, every request must carry them as HTTP basic auth (Label Studio's
        "Basic Authentication" option of the model connection).

    Returns
    -------
    starlette.applications.Starlette
        Serve it with uvicorn (:func:`serve_label_studio_backend` does), or test it with
        Starlette's ``TestClient`` used as a context manager (which starts it).

    See Also
    --------
    serve_label_studio_backend : serve it, as ``skprepal label-studio-backend`` does.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    if bool(basic_auth_user) != bool(basic_auth_pass):
        raise InvalidInputError(
            "give both basic_auth_user and basic_auth_pass for HTTP basic auth, or neither."
        )
    backend = _Backend(Path(session))
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="skprepal-label-studio")

    async def call(fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)

    async def body_of(request: Request) -> dict:
        try:
            body = await request.json()
        except ValueError:
            raise InvalidInputError("the request body is not JSON.") from None
        if not isinstance(body, dict):
            raise InvalidInputError("the request body is not a JSON object.")
        return body

    def endpoint(handler: Any) -> Any:
        async def run(request: Request) -> JSONResponse:
            try:
                status, payload = await handler(request)
            except InvalidInputError as exc:
                logger.warning("%s %s: %s", request.method, request.url.path, exc)
                return JSONResponse({"status": "error", "error": str(exc)}, 422)
            except SessionStorageError as exc:
                logger.error("%s %s: %s", request.method, request.url.path, exc)
                return JSONResponse({"status": "error", "error": str(exc)}, 503)
            return JSONResponse(payload, status)

        return run

    async def health(request: Request) -> tuple[int, dict]:
        return 200, await call(backend.health)

    async def setup(request: Request) -> tuple[int, dict]:
        return 200, await call(backend.setup, await body_of(request))

    async def predict(request: Request) -> tuple[int, dict]:
        return 200, await call(backend.predict, await body_of(request))

    async def webhook(request: Request) -> tuple[int, dict]:
        return await call(backend.webhook, await body_of(request))

    async def train(request: Request) -> tuple[int, dict]:
        return 201, await call(backend.train, await body_of(request))

    async def versions(request: Request) -> tuple[int, dict]:
        return 200, {"versions": [await call(backend.version)]}

    async def metrics(request: Request) -> tuple[int, dict]:
        return 200, {}

    @asynccontextmanager
    async def lifespan(app: Any):
        await call(backend.open)
        try:
            yield
        finally:
            await call(backend.close)
            executor.shutdown(wait=False)

    routes = [
        Route("/", endpoint(health), methods=["GET"]),
        Route("/health", endpoint(health), methods=["GET"]),
        Route("/setup", endpoint(setup), methods=["POST"]),
        Route("/predict", endpoint(predict), methods=["POST"]),
        Route("/webhook", endpoint(webhook), methods=["POST"]),
        Route("/train", endpoint(train), methods=["POST"]),
        Route("/versions", endpoint(versions), methods=["GET", "POST"]),
        Route("/metrics", endpoint(metrics), methods=["GET"]),
    ]
    middleware = []
    if basic_auth_user:
        from starlette.middleware import Middleware

        middleware.append(Middleware(_BasicAuth, user=basic_auth_user, password=basic_auth_pass))
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def serve_label_studio_backend(
    session: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 9090,
    basic_auth_user: str | None = None,
    basic_auth_pass: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve :func:`label_studio_backend` with uvicorn until interrupted.

    Connect it in Label Studio under the project's Settings -> Model -> Connect Model, with the
    URL ``http://HOST:PORT`` (and the basic auth user and password, if set), or through
    Label Studio's REST API: ``POST /api/ml`` with ``{"project": ID, "url": ...}``.
    """
    import uvicorn

    app = label_studio_backend(
        session, basic_auth_user=basic_auth_user, basic_auth_pass=basic_auth_pass
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level)
