"""Crash safety, proven: a server killed with SIGKILL at random moments loses and repeats nothing.

A child process labels through the real server (``skprepal label``) as a page would: it asks for
the next item, answers it with a fresh request id, and resends the same id until a response comes
back (the server may be dead or restarting). Meanwhile the test kills the server with SIGKILL at
random moments, at least 50 times, and restarts it on the same session file.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import numpy as np
import pytest

from skprepal import PRepALLearner
from skprepal.labeling import LabelingSession

from ._server import TOPICS, LabelServer, write_tickets

KILLS = 52


def _call(address_file: Path, method: str, path: str, body=None):
    """One request to whichever server is up now; None while there is none."""
    try:
        base, token = json.loads(address_file.read_text())
    except (OSError, ValueError):
        return None
    request = urllib.request.Request(
        base + path, data=None if body is None else json.dumps(body).encode(), method=method,
        headers={"Content-Type": "application/json", "X-Skprepal-Token": token},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, ValueError):
        return None


def _annotator(address_file: Path, truth: dict, log: Path, stop: Path) -> None:
    """Label until told to stop; log every answer that got a success response."""
    with open(log, "a", encoding="utf-8") as out:
        while not stop.exists():
            state = _call(address_file, "GET", "/api/next?annotator=ana")
            item = state and state.get("item")
            if not item:
                time.sleep(0.05)
                continue
            body = {"row": item["row"], "label": truth[item["id"]], "annotator": "ana",
                    "request_id": uuid.uuid4().hex}
            while not stop.exists():  # the same request id until one response comes back
                reply = _call(address_file, "POST", "/api/answer", body)
                if reply is not None:
                    out.write(json.dumps({**body, "retried": reply["saved"]["retried"]}) + "\n")
                    out.flush()
                    break
                time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 52 server starts: a few seconds each on a quiet 2-core machine
def test_sigkill_at_random_moments_loses_and_repeats_no_answer(tiny_bert, tmp_path):
    tickets = tmp_path / "tickets.csv"
    truth = write_tickets(tickets, 300)
    session_path = tmp_path / "session.sqlite3"
    args = [
        str(tickets), "--text-column", "body", "--id-column", "key", "--labels", *TOPICS,
        "--model", str(tiny_bert), "--cache-dir", str(tmp_path / "cache"),
        "--session", str(session_path),
    ]
    address, log, stop = tmp_path / "address.json", tmp_path / "answers.jsonl", tmp_path / "stop"
    context = multiprocessing.get_context("spawn")
    client = context.Process(target=_annotator, args=(address, truth, log, stop))
    client.start()
    rng = np.random.RandomState(0)
    try:
        for _ in range(KILLS):
            server = LabelServer(args)
            tmp = address.with_suffix(".tmp")
            tmp.write_text(json.dumps([server.base, server.token]))
            os.replace(tmp, address)
            time.sleep(rng.uniform(0.05, 1.0))
            os.kill(server.process.pid, signal.SIGKILL)
            server.process.wait()
            assert server.process.returncode == -signal.SIGKILL
    finally:
        stop.touch()
        client.join(timeout=60)
    answered = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(answered) >= 20, "too few answers got through to test anything"

    with sqlite3.connect(session_path) as conn:
        journal = conn.execute(
            "SELECT request_id, row, label FROM events WHERE kind = 'answer' ORDER BY seq"
        ).fetchall()
    ids = [r[0] for r in journal]
    assert len(ids) == len(set(ids)), "an answer was journaled twice"
    rows = [r[1] for r in journal]
    assert len(rows) == len(set(rows)), "an item was handed out and answered twice"
    journaled = {r[0]: (r[1], json.loads(r[2])) for r in journal}
    for answer in answered:  # every answer that got a success response is in the journal
        assert journaled[answer["request_id"]] == (answer["row"], answer["label"])
    # Kills between the commit and the response: answered, then confirmed as retried.
    retried = sum(a["retried"] for a in answered)

    resumed = LabelingSession.open(session_path)
    # An uninterrupted replay: the same answers, in order, in a session never killed.
    replay = LabelingSession.create(
        tmp_path / "replay.sqlite3", resumed.texts, list(TOPICS),
        embedder=resumed.embedder,
        learner=PRepALLearner(**resumed.learner.get_params(deep=False)),
        ids=[resumed.item(r)["id"] for r in range(len(resumed.texts))],
    )
    for _, row, label in journal:
        replay.answer(row, json.loads(label))
    assert resumed.labeled() == replay.labeled()
    np.testing.assert_array_equal(resumed.learner.query(10), replay.learner.query(10))
    print(f"{KILLS} kills, {len(answered)} answers confirmed, {len(journal)} journaled, "
          f"{retried} confirmed on a retry after a kill")
