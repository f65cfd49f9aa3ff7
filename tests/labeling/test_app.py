"""The labeling web app through Starlette's TestClient: token, errors, retries, the next item."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from starlette.testclient import TestClient  # noqa: E402

from skprepal import FrozenLLMTransformer, PRepALLearner  # noqa: E402
from skprepal.exceptions import InvalidInputError  # noqa: E402
from skprepal.labeling import LabelingSession  # noqa: E402
from skprepal.labeling._app import TOKEN_HEADER, create_app  # noqa: E402
from skprepal.labeling._signal import LearningSignal  # noqa: E402

from ._server import MARKUP, TOPICS, ticket_texts  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
AUTH = {TOKEN_HEADER: TOKEN}


@pytest.fixture
def session(tmp_path, tiny_bert):
    texts, _ = ticket_texts(60, markup=True)
    session = LabelingSession.create(
        tmp_path / "s.sqlite3", texts, labels=list(TOPICS),
        embedder=FrozenLLMTransformer(str(tiny_bert), device="cpu"),
        learner=PRepALLearner(random_state=0),
    )
    yield session
    session.close()


@pytest.fixture
def client(session):
    with TestClient(create_app(session, token=TOKEN, annotator="ana")) as client:
        yield client


def truth_of(session, row):
    return list(TOPICS)[row % 3]


REQUESTS = [
    ("GET", "/", None),
    ("GET", "/api/session", None),
    ("GET", "/api/next", None),
    ("GET", "/api/progress", None),
    ("POST", "/api/answer", {"row": 0, "label": "billing"}),
    ("POST", "/api/skip", {"row": 0}),
    ("POST", "/api/undo", {}),
    ("GET", "/no/such/page", None),
]


WRONG_TOKENS = [
    {},
    {"headers": {TOKEN_HEADER: "wrong"}},
    {"headers": {TOKEN_HEADER: ""}},
    {"params": {"token": TOKEN[:-1]}},
    {"params": {"token": TOKEN + "x"}},
    {"params": {"token": ""}},
]


@pytest.mark.parametrize("method, path, body", REQUESTS)
def test_every_request_needs_the_token(client, session, method, path, body):
    for how in WRONG_TOKENS:
        response = client.request(method, path, json=body, **how)
        assert response.status_code == 403, how
        assert set(response.json()) == {"error"}
        assert "ticket" not in response.text and "billing" not in response.text  # no data
        assert response.headers["x-content-type-options"] == "nosniff"
    assert session.journal() == []  # nothing written either


def test_the_token_is_taken_from_the_header_or_the_query(client):
    assert client.get("/api/progress", headers=AUTH).status_code == 200
    assert client.get("/api/progress", params={"token": TOKEN}).status_code == 200
    assert client.get("/", params={"token": TOKEN}).status_code == 200


def test_a_short_token_is_refused(session):
    with pytest.raises(InvalidInputError, match="at least 16 characters"):
        create_app(session, token="short")


def test_the_page_forbids_inline_script_but_its_own_and_never_sniffs(client):
    response = client.get("/", params={"token": TOKEN})
    csp = response.headers["content-security-policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    scripts = re.findall(r"<script([^>]*)>", response.text)
    assert scripts == [f' nonce="{nonce}"']  # one script, and it carries this page's nonce
    assert client.get("/", params={"token": TOKEN}).headers["content-security-policy"] != csp
    # The text is put in with textContent; the page never parses data as HTML.
    assert "innerHTML" not in response.text and "insertAdjacentHTML" not in response.text
    assert "document.write" not in response.text
    api = client.get("/api/progress", headers=AUTH)
    assert api.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert api.headers["x-content-type-options"] == "nosniff"


def test_markup_in_a_text_comes_back_as_data(client, session):
    response = client.get("/api/next", headers=AUTH)
    assert response.headers["content-type"] == "application/json"
    item = response.json()["item"]
    assert item["text"] == session.texts[item["row"]]
    assert "<script>window.__skprepal_xss = 1</script>" in item["text"]
    assert MARKUP.split(">")[0] in item["text"]


def test_session_describes_labels_and_default_annotator(client):
    about = client.get("/api/session", headers=AUTH).json()
    assert about == {"labels": list(TOPICS), "annotator": "ana", "n_items": 60,
                     "name": "s.sqlite3"}


def test_an_answer_is_saved_and_its_response_carries_the_next_item(client, session):
    first = client.get("/api/next", headers=AUTH).json()
    assert first["item"]["suggestion"] is None and first["progress"]["n_labeled"] == 0
    row = first["item"]["row"]
    data = client.post(
        "/api/answer", headers=AUTH,
        json={"row": row, "label": "bug", "request_id": "a-1"},
    ).json()
    assert data["saved"] == {"seq": 1, "row": row, "label": "bug", "retried": False}
    assert session.journal()[0]["annotator"] == "ana"  # the server's default
    assert data["item"]["row"] != row
    assert data["progress"]["n_labeled"] == 1 and data["progress"]["per_class"]["bug"] == 1
    # The next item is the one the session hands out now (the same lease, asked again).
    assert session.next(annotator="ana")[0]["row"] == data["item"]["row"]
    assert set(data["signal"]) >= {"changed", "cv_accuracy", "n_sample"}


def test_a_retried_answer_is_journaled_once(client, session):
    row = client.get("/api/next", headers=AUTH).json()["item"]["row"]
    body = {"row": row, "label": "login", "annotator": "bo", "request_id": "same-id"}
    first = client.post("/api/answer", headers=AUTH, json=body).json()
    again = client.post("/api/answer", headers=AUTH, json=body).json()
    assert first["saved"]["retried"] is False and again["saved"]["retried"] is True
    assert again["item"] is not None and again["progress"]["n_labeled"] == 1
    journal = session.journal()
    assert [(e["kind"], e["row"], e["label"], e["annotator"]) for e in journal] == [
        ("answer", row, "login", "bo")
    ]


@pytest.mark.parametrize(
    "path, body, message",
    [
        ("/api/answer", {"row": 1, "label": "biling"}, "Did you mean 'billing'"),
        ("/api/answer", {"row": 60, "label": "bug"}, "row 60 is out of range"),
        ("/api/answer", {"row": "1", "label": "bug"}, "must be an integer row"),
        ("/api/answer", {"label": "bug"}, "must be an integer row"),
        ("/api/skip", {"row": True}, "must be an integer row"),
        ("/api/answer", {"row": 1, "label": "bug", "annotator": "x" * 101}, "at most 100"),
        ("/api/answer", {"row": 1, "label": "bug", "request_id": 7}, "request_id must be"),
        ("/api/undo", {"request_id": ""}, "request_id must be"),
    ],
)
def test_bad_input_is_a_400_with_the_reason_and_nothing_is_written(client, session, path, body,
                                                                   message):
    response = client.post(path, headers=AUTH, json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert session.journal() == []


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(client, session, content):
    response = client.post("/api/answer", headers={**AUTH, "Content-Type": "application/json"},
                           content=content)
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    assert session.journal() == []


def test_a_full_disk_is_a_507_the_page_can_retry(client, session):
    row = client.get("/api/next", headers=AUTH).json()["item"]["row"]
    conn = session._journal._conn
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")  # what a full disk does to SQLite
    big = {"annotator": "x" * 100}
    status = 200
    for i in range(200):  # fill the last free pages with answers until one fails
        response = client.post(
            "/api/answer", headers=AUTH,
            json={"row": i % 60, "label": "bug", "request_id": f"fill-{i}", **big},
        )
        status = response.status_code
        if status != 200:
            break
    assert status == 507
    error = response.json()["error"]
    assert "disk is full" in error and "NOT saved" in error
    failed = {"row": i % 60, "label": "bug", "request_id": f"fill-{i}", **big}
    n_saved = len(session.journal())
    # The page retries the same answer, with the same request_id: still full, still refused.
    assert client.post("/api/answer", headers=AUTH, json=failed).status_code == 507
    assert len(session.journal()) == n_saved  # the failed answer is nowhere
    conn.execute("PRAGMA max_page_count=1073741823")  # room again: the same retry goes through
    ok = client.post("/api/answer", headers=AUTH, json=failed).json()
    assert ok["saved"]["retried"] is False and ok["item"] is not None
    again = client.post("/api/answer", headers=AUTH, json=failed).json()
    assert again["saved"]["retried"] is True
    assert len(session.journal()) == n_saved + 1
    assert row is not None


def test_skip_and_undo_through_the_api(client, session):
    row = client.get("/api/next", headers=AUTH).json()["item"]["row"]
    skipped = client.post("/api/skip", headers=AUTH, json={"row": row}).json()
    assert skipped["progress"]["n_skipped"] == 1 and skipped["item"]["row"] != row
    undone = client.post("/api/undo", headers=AUTH, json={"request_id": "u-1"}).json()
    assert undone["undone"]["undone"] == "skip" and undone["undone"]["row"] == row
    assert undone["item"]["row"] == row  # shown again, to be labeled
    assert undone["progress"]["n_skipped"] == 0
    # A retried undo takes back nothing more.
    again = client.post("/api/undo", headers=AUTH, json={"request_id": "u-1"}).json()
    assert again["undone"] is None and again["item"] is not None
    nothing = client.post("/api/undo", headers=AUTH, json={}).json()
    assert nothing["undone"] is None
    assert [e["kind"] for e in session.journal()] == ["skip", "undo"]


def test_undo_takes_back_the_annotators_own_answer(client, session):
    client.post("/api/answer", headers=AUTH, json={"row": 1, "label": "bug", "annotator": "ana"})
    client.post("/api/answer", headers=AUTH, json={"row": 2, "label": "bug", "annotator": "bo"})
    undone = client.post("/api/undo", headers=AUTH, json={"annotator": "ana"}).json()
    assert undone["undone"]["row"] == 1 and undone["undone"]["label"] == "bug"
    assert session.labeled() == ([2], ["bug"])


def test_two_annotators_are_handed_distinct_items(client):
    ana = client.get("/api/next", headers=AUTH, params={"annotator": "ana"}).json()["item"]
    bo = client.get("/api/next", headers=AUTH, params={"annotator": "bo"}).json()["item"]
    assert ana["row"] != bo["row"]
    # Asking again returns the same item until it is answered.
    again = client.get("/api/next", headers=AUTH, params={"annotator": "ana"}).json()["item"]
    assert again["row"] == ana["row"]


def test_the_pool_running_out_gives_no_item(tmp_path, tiny_bert):
    session = LabelingSession.create(
        tmp_path / "small.sqlite3", ["a refund", "a crash", "a login"], labels=["x", "y"],
        embedder=FrozenLLMTransformer(str(tiny_bert), device="cpu"),
        learner=PRepALLearner(random_state=0),
    )
    with TestClient(create_app(session, token=TOKEN)) as client:
        for label in ["x", "y", "x"]:
            item = client.get("/api/next", headers=AUTH).json()["item"]
            data = client.post("/api/answer", headers=AUTH,
                               json={"row": item["row"], "label": label}).json()
        assert data["item"] is None and data["progress"]["n_pool"] == 0
        assert client.get("/api/next", headers=AUTH).json()["item"] is None
    session.close()


def test_the_learning_signal_follows_the_refits(session):
    signal = LearningSignal(session._vectors, sample_size=50, cv_every=10, background=False)
    first = signal.update(session.learner)
    assert first["changed"] is None and first["cv_accuracy"] is None and first["n_sample"] == 50
    rows = list(range(30))
    for k, row in enumerate(rows):
        session.answer(row, truth_of(session, row))
        state = signal.update(session.learner)
        if k == 0:  # one class: a constant model, nothing to compare
            assert state["changed"] is None
        if k >= 2:  # two classes from the second refit on: a share of the sample
            assert 0.0 <= state["changed"] <= 1.0
        if k < 7:  # fewer than 3 labels of two classes: no 3-fold estimate
            assert state["cv_accuracy"] is None
    assert len(state["changed_history"]) == 28
    assert 0.0 <= state["cv_accuracy"] <= 1.0 and state["cv_n_labels"] == 28  # at 8, 18, 28
    before = signal.update(session.learner)  # nothing changed: the same signal
    assert before == state
    # The share really is that of changed predictions on the fixed sample.
    sample = signal._sample
    old = session.learner.predict(session._vectors[sample])
    session.answer(40, "login")
    new = session.learner.predict(session._vectors[sample])
    assert signal.update(session.learner)["changed"] == pytest.approx(np.mean(old != new))


def test_the_cross_validation_waits_for_a_pause_and_uses_the_labels_by_then(session):
    signal = LearningSignal(session._vectors, sample_size=50, cv_every=10, quiet_seconds=0.5)
    for row in range(30):  # answers back to back: no pause long enough
        session.answer(row, truth_of(session, row))
        state = signal.update(session.learner)
    assert state["cv_accuracy"] is None  # requested at 8, 18 and 28 labels, none run yet
    signal.close()  # waits for the worker, which runs once the half second has passed
    state = signal.update(session.learner)
    assert 0.0 <= state["cv_accuracy"] <= 1.0 and state["cv_n_labels"] == 28  # the latest only


def test_the_cross_validation_runs_in_the_background(client):
    for row in range(12):
        client.post("/api/answer", headers=AUTH, json={"row": row, "label": list(TOPICS)[row % 3]})
    client.app.state.signal.close()  # waits for the running cross-validation
    signal = client.get("/api/progress", headers=AUTH).json()["signal"]
    assert signal["cv_folds"] == 3 and 0.0 <= signal["cv_accuracy"] <= 1.0
