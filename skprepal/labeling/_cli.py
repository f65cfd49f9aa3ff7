"""``skprepal label``, ``skprepal export`` and ``skprepal finetune``: the labeling commands.

The parser is in :mod:`skprepal.cli`; these run a parsed command. Each checks its arguments
(files, columns, labels, a session's digest, the port) before it loads a model or embeds a
text, and reports a problem as one :class:`~skprepal.exceptions.InvalidInputError` line.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path
from typing import Any

from skprepal.exceptions import InvalidInputError

__all__ = [
    "run_label", "run_export", "run_finetune", "default_session_path", "require_web_packages"
]


def default_session_path(file: str | Path) -> Path:
    """``tickets.csv`` -> ``tickets.session.sqlite3`` beside it."""
    file = Path(file)
    return file.with_name(file.stem + ".session.sqlite3")


def require_web_packages(command: str) -> None:
    """Fail in one line, before any work, where the ``label`` extra's web packages are missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise InvalidInputError(
            f"`{command}` needs the web packages ({exc.name} is missing): "
            "pip install 'skprepal[label]'"
        ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_items(args: argparse.Namespace) -> tuple[Any, list[str] | None]:
    from skprepal._io import read_table, text_and_labels

    rows = read_table(args.file, args.format)
    texts, _ = text_and_labels(rows, [args.text_column], None, args.file)
    ids = None
    if args.id_column is not None:
        if args.id_column not in rows[0]:
            raise InvalidInputError(
                f"{args.file} has no column {args.id_column!r} (--id-column); its columns are "
                f"{', '.join(map(repr, rows[0]))}."
            )
        ids = [row[args.id_column] for row in rows]
    return texts, ids


def _check_reopened(path: Path, args: argparse.Namespace, texts: Any, ids: Any) -> None:
    """The existing session must be the one made from this file, with these settings."""
    from skprepal.labeling._session import _check_ids, _texts_digest

    journal = _journal(path)
    try:
        digest, labels = journal.meta("texts_sha256"), journal.meta("labels")
        embedder = journal.meta("embedder")
        stored_ids = journal.items()[0] if ids is not None else None
    finally:
        journal.close()
    if _texts_digest(texts.tolist()) != digest:
        raise InvalidInputError(
            f"the session {str(path)!r} was made from other texts than column "
            f"{args.text_column!r} of {args.file}; pass the file it was made from, or a new "
            "--session path."
        )
    if args.labels is not None and list(args.labels) != list(labels):
        raise InvalidInputError(
            f"the session {str(path)!r} has the labels {' '.join(labels)}; drop --labels or pass "
            "those."
        )
    if ids is not None and _check_ids(ids, len(texts)) != stored_ids:
        raise InvalidInputError(
            f"the ids in column {args.id_column!r} differ from those the session {str(path)!r} "
            "was made with."
        )
    stored_model = embedder.get("params", {}).get("model") if isinstance(embedder, dict) else None
    if args.model is not None and str(args.model) != str(stored_model):
        raise InvalidInputError(
            f"the session {str(path)!r} embeds with {stored_model!r}; drop --model (a session "
            "keeps its encoder)."
        )


def run_label(args: argparse.Namespace) -> None:
    """Create or reopen the session, then serve the labeling page until Ctrl-C."""
    import secrets

    require_web_packages("skprepal label")
    from skprepal.labeling._app import bind, create_app, serve
    from skprepal.labeling._session import LabelingSession, _check_ids, _check_labels

    if not 0 <= args.port <= 65535:
        raise InvalidInputError(f"--port {args.port} is not a port number (0 to 65535).")
    texts, ids = _read_items(args)
    path = Path(args.session) if args.session else default_session_path(args.file)
    if path.exists() and not path.is_file():
        raise InvalidInputError(f"--session {str(path)!r} is a folder, not a session file.")
    reopen = path.exists()
    if reopen:
        _check_reopened(path, args, texts, ids)
    else:
        if args.labels is None:
            raise InvalidInputError(
                f"a new session needs its labels: add --labels A B ... (no session at {path})."
            )
        labels = _check_labels(args.labels)
        _check_ids(ids, len(texts))
        if not path.parent.is_dir():
            raise InvalidInputError(f"--session {str(path)!r}: the folder does not exist.")
    if not _is_loopback(args.host):
        print(
            f"skprepal: warning: listening on {args.host}, not only on this machine; anyone who "
            "has the address with its token can label.",
            file=sys.stderr,
        )
    sock = bind(args.host, args.port)  # a busy port fails here, before any embedding
    session = None
    try:
        if reopen:
            session = LabelingSession.open(path)
        else:
            from skprepal.embedding import DEFAULT_MODEL, FrozenLLMTransformer

            embedder = FrozenLLMTransformer(
                args.model or DEFAULT_MODEL, cache_dir=args.cache_dir, show_progress=True
            )
            try:
                session = LabelingSession.create(path, texts, labels, embedder=embedder, ids=ids)
            except BaseException:
                # The file is made before the texts are embedded: a failed embedding (no such
                # model, Ctrl-C) must not leave a session behind that the next run would reopen.
                for leftover in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                    leftover.unlink(missing_ok=True)
                raise
        token = secrets.token_urlsafe(24)
        app = create_app(session, token=token, annotator=args.annotator)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        progress = session.progress()
        print(
            f"{'Reopened' if reopen else 'Created'} {path}: {progress['n_items']} items, "
            f"{progress['n_labeled']} labeled, {progress['n_skipped']} skipped.",
            flush=True,
        )
        print(f"Open http://{shown}:{port}/?token={token} in a browser (Ctrl-C stops).",
              flush=True)
        try:
            serve(app, sock)
        finally:
            app.state.signal.close()
        print(f"Stopped. Every answer is saved in {path}; run the same command to go on.")
    finally:
        sock.close()
        if session is not None:
            session.close()


def _existing_session(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise InvalidInputError(f"no session file at {value!r}.")
    _journal(path).close()  # refuses a file that is not a session, before a model is loaded
    return path


def _journal(path: Path) -> Any:
    import sqlite3

    from skprepal.labeling._journal import Journal

    try:
        return Journal(path)
    except sqlite3.DatabaseError:  # not SQLite at all
        raise InvalidInputError(f"{str(path)!r} is not a skprepal session file.") from None


def run_export(args: argparse.Namespace) -> None:
    """Write the session's labels, in answer order."""
    from skprepal.labeling import LabelingSession

    path = _existing_session(args.session)
    out = Path(args.out)
    if not out.parent.is_dir():
        raise InvalidInputError(f"--out {args.out!r}: the folder does not exist.")
    fmt = args.format or ("jsonl" if out.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    with LabelingSession.open(path) as session:
        session.export(out, format=fmt)
        n = session.progress()["n_labeled"]
    print(f"Wrote {n} labels to {out} ({fmt}).")


def run_finetune(args: argparse.Namespace) -> None:
    """Fine-tune TransferFineTuner on the session's labels and save it to ``--out``."""
    from skprepal.finetune import TransferFineTuner
    from skprepal.labeling import LabelingSession

    path = _existing_session(args.session)
    if not args.epochs > 0:
        raise InvalidInputError(f"--epochs {args.epochs} must be positive.")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InvalidInputError(f"--out {args.out!r} exists and is not an empty folder.")
    with LabelingSession.open(path) as session:
        rows, labels = session.labeled()
        model = args.model or session.embedder.model
        texts = session.texts
    if len(set(labels)) < 2:
        raise InvalidInputError(
            f"the session has {len(labels)} labels of {len(set(labels))} class(es); fine-tuning "
            "needs labels of at least two classes."
        )
    tuner = TransferFineTuner(model, epochs=args.epochs, random_state=0)
    tuner.fit([texts[r] for r in rows], labels)
    tuner.save(out)
    print(f"Fine-tuned {model} on {len(labels)} labels ({args.epochs:g} epochs); saved to {out}.")
