"""LabelingSession: durable answers, replay to the same state, two processes, clear errors."""

from __future__ import annotations

import csv
import json
import multiprocessing
import os
import sqlite3
import stat
import subprocess

import numpy as np
import pytest

from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.exceptions import InvalidInputError, SessionStorageError
from skprepal.labeling import LabelingSession

TOPICS = {
    "billing": ["refund", "invoice", "charged", "card", "payment"],
    "login": ["password", "login", "locked", "account", "reset"],
    "bug": ["crash", "error", "broken", "freeze", "bug"],
}


def _texts(n=90, seed=0):
    rng = np.random.RandomState(seed)
    names = list(TOPICS)
    truth = [names[i % 3] for i in range(n)]
    texts = [
        f"{' '.join(rng.choice(TOPICS[t], 3))} please help with ticket {i}"
        for i, t in enumerate(truth)
    ]
    return texts, truth


@pytest.fixture
def make_session(tmp_path, tiny_bert):
    def make(name="s.sqlite3", n=90, **kwargs):
        texts, truth = _texts(n)
        kwargs.setdefault("learner", PRepALLearner(random_state=0))
        session = LabelingSession.create(
            tmp_path / name, texts, labels=list(TOPICS),
            embedder=FrozenLLMTransformer(str(tiny_bert), device="cpu"), **kwargs,
        )
        return session, truth

    return make


def _label_some(session, truth, k, annotator="ana"):
    answered = []
    for _ in range(k):
        item = session.next(annotator=annotator)[0]
        session.answer(item["row"], truth[item["row"]], annotator=annotator)
        answered.append(item["row"])
    return answered


def test_answers_are_in_the_file_before_answer_returns(make_session):
    session, truth = make_session()
    item = session.next()[0]
    assert set(item) >= {"row", "id", "text", "suggestion", "confidence"}
    assert item["suggestion"] is None  # no label yet, no head
    session.answer(item["row"], truth[item["row"]], annotator="ana")
    # Another connection sees it at once: it was committed, not buffered.
    with sqlite3.connect(session.path) as conn:
        rows = conn.execute("SELECT kind, row, label, annotator FROM events").fetchall()
    assert rows == [("answer", item["row"], json.dumps(truth[item["row"]]), "ana")]


def test_open_replays_to_the_same_labels_and_the_same_next_query(make_session):
    session, truth = make_session()
    _label_some(session, truth, 8)
    session.skip(session.next()[0]["row"])
    session.undo()  # the skip
    session.skip(session.next()[0]["row"])
    _label_some(session, truth, 4)
    session.undo()  # the last answer
    expected_labels = session.labeled()
    expected_query = session.learner.query(5)
    expected_progress = session.progress()
    session.close()
    reopened = LabelingSession.open(session.path)
    assert reopened.labeled() == expected_labels
    assert reopened.progress() == expected_progress
    np.testing.assert_array_equal(reopened.learner.query(5), expected_query)
    item = reopened.next()[0]
    assert item["suggestion"] in TOPICS and 0.0 < item["confidence"] <= 1.0


def test_undo_restores_the_earlier_state_of_the_item(make_session):
    session, _ = make_session()
    session.answer(3, "billing", annotator="ana")
    session.answer(3, "login", annotator="ana")  # a correction
    session.answer(4, "bug", annotator="bo")
    undone = session.undo(annotator="ana")
    assert undone["row"] == 3 and undone["undone"] == "answer" and undone["label"] == "login"
    assert session.labeled() == ([3, 4], ["billing", "bug"])
    assert session.undo(annotator="ana")["label"] == "billing"
    assert session.labeled() == ([4], ["bug"])
    assert session.undo(annotator="ana") is None  # nothing left of ana's
    kinds = [e["kind"] for e in session.journal()]
    assert kinds == ["answer", "answer", "answer", "undo", "undo"]  # append-only


def test_a_retried_request_is_journaled_once(make_session):
    session, _ = make_session()
    first = session.answer(5, "bug", request_id="r-1")
    again = session.answer(5, "bug", request_id="r-1")
    assert first["seq"] is not None and again["seq"] is None
    assert len(session.journal()) == 1


def test_bad_input_is_refused_and_nothing_is_written(make_session):
    session, _ = make_session()
    with pytest.raises(InvalidInputError, match="'biling' is not one of .* Did you mean 'billing'"):
        session.answer(0, "biling")
    with pytest.raises(InvalidInputError, match="row 90 is out of range"):
        session.answer(90, "bug")
    with pytest.raises(InvalidInputError, match="must be an integer row"):
        session.skip("3")
    assert session.journal() == []


@pytest.mark.parametrize(
    "texts, labels, kwargs, message",
    [
        (["a", "b"], ["only"], {}, "at least two label names"),
        (["a", "b"], ["x", "x"], {}, "repeats a label"),
        (["a", None], ["x", "y"], {}, r"texts\[1\] is None"),
        (["a", "b"], ["x", "y"], {"ids": ["1", "1"]}, "ids repeat a value"),
        (["a", "b"], ["x", "y"], {"learner": PRepALLearner(query_strategy=len)}, "cannot be stored"),
    ],
)
def test_bad_sessions_are_refused_before_a_file_is_made(tmp_path, texts, labels, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        LabelingSession.create(tmp_path / "s.sqlite3", texts, labels, **kwargs)
    assert not (tmp_path / "s.sqlite3").exists()


def test_opening_something_else_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no session file"):
        LabelingSession.open(tmp_path / "missing.sqlite3")
    other = tmp_path / "other.sqlite3"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(InvalidInputError, match="not a skprepal session file"):
        LabelingSession.open(other)


def _make_read_only(path):
    """chmod where that binds; for root (CI), the immutable attribute, which binds root too."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    if os.geteuid() == 0:
        for file in files:
            if file.exists():
                subprocess.run(["chattr", "+i", str(file)], check=True)
        return lambda: [subprocess.run(["chattr", "-i", str(f)]) for f in files if f.exists()]
    os.chmod(path, stat.S_IRUSR)
    os.chmod(path.parent, stat.S_IRUSR | stat.S_IXUSR)
    return lambda: (os.chmod(path.parent, stat.S_IRWXU), os.chmod(path, stat.S_IRUSR | 0o200))


def test_a_read_only_session_file_says_so_and_loses_nothing(make_session):
    session, _ = make_session()
    session.answer(1, "bug")
    reopened = LabelingSession.open(session.path)  # open while writable, as a server would be
    undo = _make_read_only(session.path)
    try:
        with pytest.raises(SessionStorageError, match="NOT saved"):
            reopened.answer(2, "bug")
        assert reopened.labeled() == ([1], ["bug"])
    finally:
        undo()
    session.close()
    reopened.close()
    assert LabelingSession.open(session.path).labeled() == ([1], ["bug"])


def test_a_full_disk_says_so_and_loses_nothing(make_session):
    session, _ = make_session()
    session.answer(1, "bug")
    # SQLite's max_page_count makes the file "full" exactly as a full disk does.
    conn = session._journal._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(SessionStorageError, match="disk is full.*NOT saved"):
        for row in range(2, 90):  # fill the last free pages
            session.answer(row, "bug", annotator="x" * 2000)
    conn.execute("PRAGMA max_page_count=1073741823")
    session.close()
    reopened = LabelingSession.open(session.path)
    rows, labels = reopened.labeled()
    assert rows[0] == 1 and set(labels) == {"bug"}
    assert len(reopened.journal()) == len(rows)  # every saved answer, no torn one


def _annotate(path, annotator, n, queue):
    session = LabelingSession.open(path)
    texts, truth = _texts()
    taken = []
    for _ in range(n):
        item = session.next(annotator=annotator)[0]
        taken.append(item["row"])
        session.answer(item["row"], truth[item["row"]], annotator=annotator)
    queue.put(taken)


def test_two_processes_get_distinct_items_and_lose_no_answer(make_session):
    session, _ = make_session()
    session.close()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(target=_annotate, args=(session.path, name, 10, queue))
        for name in ("ana", "bo")
    ]
    for worker in workers:
        worker.start()
    taken = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert not set(taken[0]) & set(taken[1])
    final = LabelingSession.open(session.path)
    rows, _ = final.labeled()
    assert sorted(rows) == sorted(taken[0] + taken[1])
    assert {e["annotator"] for e in final.journal()} == {"ana", "bo"}


def test_export_writes_the_labels_in_answer_order(make_session, tmp_path):
    session, truth = make_session(ids=[f"t{i}" for i in range(90)])
    answered = _label_some(session, truth, 3)
    session.skip(session.next()[0]["row"])
    with open(session.export(tmp_path / "out.csv"), newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [r["id"] for r in table] == [f"t{r}" for r in answered]
    assert [r["label"] for r in table] == [truth[r] for r in answered]
    lines = (session.export(tmp_path / "out.jsonl", format="jsonl")).read_text().splitlines()
    assert [json.loads(line)["annotator"] for line in lines] == ["ana"] * 3
    with pytest.raises(InvalidInputError, match="format='xml' is not supported"):
        session.export(tmp_path / "out.xml", format="xml")


def test_a_failed_create_leaves_no_session_behind(tmp_path):
    with pytest.raises(Exception, match="folder|model|found|exist"):
        LabelingSession.create(
            tmp_path / "s.sqlite3", ["a", "b"], ["x", "y"],
            embedder=FrozenLLMTransformer(str(tmp_path / "no-such-model")),
        )
    assert not (tmp_path / "s.sqlite3").exists()


def test_a_garbage_file_and_settings_from_a_newer_version_are_clear_errors(make_session, tmp_path):
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(InvalidInputError, match="not a skprepal session file"):
        LabelingSession.open(garbage)
    session, _ = make_session()
    session.close()
    with sqlite3.connect(session.path) as conn:
        spec = json.loads(conn.execute("SELECT value FROM meta WHERE key='learner'").fetchone()[0])
        spec["params"]["from_the_future"] = 1
        conn.execute("UPDATE meta SET value=? WHERE key='learner'", (json.dumps(spec),))
    with pytest.raises(InvalidInputError, match="sets from_the_future of .* newer skprepal"):
        LabelingSession.open(session.path)
