"""The Label Studio ML backend: requests shaped as Label Studio sends them, in-process, served."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

import httpx  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from skprepal import FrozenLLMTransformer, PRepALLearner  # noqa: E402
from skprepal.labeling import (  # noqa: E402
    LabelingSession,
    label_studio_backend,
    label_studio_config,
)

LABELS = ["billing", "login", "bug"]
WORDS = {
    "billing": ["refund", "invoice", "charged", "card"],
    "login": ["password", "login", "locked", "account"],
    "bug": ["crash", "error", "broken", "freeze"],
}
# A project's config as a Label Studio user would write it (other names than skprepal's own).
CONFIG = """<View>
  <Header value="Which team handles this ticket?"/>
  <Text name="ticket" value="$body"/>
  <Choices name="team" toName="ticket" choice="single" showInLine="true">
    <Choice value="billing"/><Choice value="login"/><Choice value="bug"/>
  </Choices>
</View>"""
PROJECT = {  # as Label Studio's webhook serializer sends a project (abridged)
    "id": 7, "title": "Tickets", "description": "", "label_config": CONFIG,
    "expert_instruction": "", "show_instruction": False, "show_skip_button": True,
    "enable_empty_annotation": True, "show_annotation_history": False, "color": "#FFFFFF",
    "maximum_annotations": 1, "is_published": False, "model_version": "", "is_draft": False,
    "created_by": 1, "created_at": "2025-01-10T09:00:00.000000Z",
    "min_annotations_to_start_training": 0,
    "start_training_on_annotation_update": False, "show_collab_predictions": True,
    "num_tasks_with_annotations": 1, "task_number": 60, "useful_annotation_number": 1,
    "ground_truth_number": 0, "skipped_annotations_number": 0, "total_annotations_number": 1,
    "total_predictions_number": 0, "sampling": "Sequential sampling", "organization": 1,
}


def _texts(n=60, seed=0):
    rng = np.random.RandomState(seed)
    truth = [LABELS[i % 3] for i in range(n)]
    texts = [f"{' '.join(rng.choice(WORDS[t], 3))} ticket {i}" for i, t in enumerate(truth)]
    return texts, truth


@pytest.fixture
def session_path(tmp_path, tiny_bert):
    texts, _ = _texts()
    session = LabelingSession.create(
        tmp_path / "tickets.sqlite3", texts, labels=LABELS,
        embedder=FrozenLLMTransformer(str(tiny_bert), device="cpu"),
        learner=PRepALLearner(random_state=0), ids=[f"t{i}" for i in range(60)],
    )
    session.close()
    return tmp_path / "tickets.sqlite3"


def _task(row, *, with_id=False):
    """A task as Label Studio serializes it for /predict and webhooks (task id = row + 100)."""
    texts, _ = _texts()
    data = {"body": texts[row]}
    if with_id:
        data["skprepal_id"] = f"t{row}"
    return {
        "id": row + 100, "data": data, "meta": {}, "created_at": "2025-01-10T09:05:00.000000Z",
        "updated_at": "2025-01-10T09:05:00.000000Z", "is_labeled": False, "overlap": 1,
        "inner_id": row + 1, "total_annotations": 0, "cancelled_annotations": 0,
        "total_predictions": 0, "comment_count": 0, "unresolved_comment_count": 0,
        "last_comment_updated_at": None, "project": 7, "updated_by": None, "file_upload": 1,
        "comment_authors": [],
    }


def _annotation(ident, row, choice=None, *, cancelled=False, who=1, updated="10:00:00"):
    """An annotation as Label Studio's webhook serializer sends it."""
    result = [] if choice is None else [{
        "id": f"reg{ident}", "type": "choices", "value": {"choices": [choice]},
        "origin": "manual", "to_name": "ticket", "from_name": "team",
    }]
    return {
        "id": ident, "result": result, "was_cancelled": cancelled, "ground_truth": False,
        "created_at": "2025-01-10T10:00:00.000000Z", "updated_at": f"2025-01-10T{updated}Z",
        "draft_created_at": None, "lead_time": 3.4, "import_id": None, "last_action": None,
        "bulk_created": False, "task": row + 100, "project": 7, "updated_by": who,
        "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
        "completed_by": who,
    }


def _created(ident, row, choice=None, action="ANNOTATION_CREATED", **kwargs):
    return {"action": action, "annotation": _annotation(ident, row, choice, **kwargs),
            "task": _task(row), "project": PROJECT}


def _predict(client, rows, **kwargs):
    body = {
        "tasks": [_task(r, **kwargs) for r in rows], "project": "7.1736499200",
        "label_config": CONFIG, "params": {"login": None, "password": None, "context": None},
    }
    response = client.post("/predict", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def client(session_path):
    with TestClient(label_studio_backend(session_path)) as client:
        yield client


def test_health_setup_and_predictions_before_any_label(client):
    health = client.get("/health").json()
    assert health["status"] == "UP" and health["n_labeled"] == 0
    assert client.get("/").json()["status"] == "UP"
    setup = client.post("/setup", json={
        "project": "7.1736499200", "schema": CONFIG, "hostname": "http://localhost:8080",
        "access_token": "x", "extra_params": None,
    })
    assert setup.status_code == 200 and setup.json()["model_version"] == "skprepal-tickets-0"
    body = _predict(client, [0, 1, 2])
    assert [r["result"] for r in body["results"]] == [[], [], []]  # no label, no model yet


def test_a_config_that_does_not_fit_the_session_is_refused(client):
    wrong = CONFIG.replace('<Choice value="bug"/>', '<Choice value="feature"/>')
    response = client.post("/setup", json={"project": "7.1", "schema": wrong})
    assert response.status_code == 422
    assert "missing ['bug'], not in the session ['feature']" in response.json()["error"]
    assert client.post("/setup", json={"project": "7.1", "schema": "<View"}).status_code == 422


def test_annotations_are_journaled_and_predictions_follow_the_model(client, session_path):
    _, truth = _texts()
    for k, row in enumerate(range(6)):
        response = client.post("/webhook", json=_created(k + 1, row, truth[row]))
        assert response.status_code == 201 and response.json()["result"]["answered"] == 1
    session = LabelingSession.open(session_path)  # another process's view of the file
    assert session.labeled() == (list(range(6)), truth[:6])
    assert {e["annotator"] for e in session.journal()} == {"label-studio:1"}
    rows = list(range(6, 30))
    body = _predict(client, rows)
    assert body["results"][0]["model_version"] == "skprepal-tickets-6"
    scores = []
    for row, prediction in zip(rows, body["results"], strict=True):
        item = session.item(row)
        (region,) = prediction["result"]
        assert region["from_name"] == "team" and region["to_name"] == "ticket"
        assert region["type"] == "choices" and region["value"]["choices"] == [item["suggestion"]]
        assert prediction["score"] == pytest.approx(item["confidence"])
        scores.append(prediction["score"])
    # Label Studio's "prediction score" ascending = skprepal's confidence ascending.
    by_score = [rows[i] for i in np.argsort(scores, kind="stable")]
    confidences = [session.item(r)["confidence"] for r in by_score]
    assert confidences == sorted(confidences)
    # skprepal's id in data wins; a text the session does not have is embedded and predicted.
    assert _predict(client, [7], with_id=True)["results"][0]["score"] == pytest.approx(
        session.item(7)["confidence"])
    outside = client.post("/predict", json={"tasks": [{"id": 1, "data": {"body": "crash bug"}}],
                                            "label_config": CONFIG}).json()
    assert outside["results"][0]["result"][0]["value"]["choices"][0] in LABELS


def test_updates_deletions_skips_and_retries(client, session_path):
    client.post("/webhook", json=_created(1, 0, "billing"))
    client.post("/webhook", json=_created(2, 1, "login", who=2))
    # an update is a correction
    updated = _created(1, 0, "bug", action="ANNOTATION_UPDATED", updated="11:00:00")
    assert client.post("/webhook", json=updated).status_code == 201
    # a retried delivery is journaled once
    again = client.post("/webhook", json=updated).json()["result"]
    assert again["answered"] == 0 and again["already_journaled"] == 1
    # a cancelled annotation is a skip, unless the item has a label
    client.post("/webhook", json=_created(3, 2, cancelled=True))
    client.post("/webhook", json=_created(4, 1, cancelled=True, who=3))
    session = LabelingSession.open(session_path)
    assert session.labeled() == ([0, 1], ["bug", "login"])
    assert session.learner.skipped_indices_.tolist() == [2]
    # deleting annotation 1 takes back both answers it made: row 0 returns to the pool
    deleted = {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 1}], "project": PROJECT}
    assert client.post("/webhook", json=deleted).json()["result"]["undone"] == 2
    assert session.labeled() == ([1], ["login"])
    kinds = [e["kind"] for e in session.journal()]
    assert kinds == ["answer", "answer", "answer", "skip", "undo", "undo"]
    # START_TRAINING reports; other project events are acknowledged and ignored
    start = client.post("/webhook", json={"action": "START_TRAINING", "project": PROJECT})
    assert start.status_code == 201 and start.json()["result"]["n_labeled"] == 1
    other = client.post("/webhook", json={"action": "PROJECT_UPDATED", "project": PROJECT})
    assert other.status_code == 200 and other.json()["status"] == "ignored"


def test_bulk_created_annotations_and_a_wrong_label(client, session_path):
    bulk = {"action": "ANNOTATIONS_CREATED", "project": PROJECT,
            "annotation": [_annotation(1, 0, "billing"), _annotation(2, 3, "login")],
            "task": [_task(0), _task(3)]}
    assert client.post("/webhook", json=bulk).json()["result"]["answered"] == 2
    wrong = _created(3, 4, "refund")
    response = client.post("/webhook", json=wrong)
    assert response.status_code == 422 and "'refund' is not one of" in response.json()["error"]
    many = _created(5, 4, "bug")
    many["annotation"]["result"][0]["value"]["choices"] = ["bug", "login"]
    assert client.post("/webhook", json=many).status_code == 422
    assert LabelingSession.open(session_path).labeled() == ([0, 3], ["billing", "login"])
    assert client.post("/predict", content=b"not json").status_code == 422


def test_the_older_train_endpoint(client, session_path):
    _, truth = _texts()
    tasks = []
    for row in range(4):
        task = _task(row)
        task["annotations"] = [_annotation(row + 1, row, truth[row])]
        task["predictions"] = []
        tasks.append(task)
    body = {"annotations": tasks, "project": "7.1736499200", "label_config": CONFIG,
            "params": {"login": None, "password": None}}
    response = client.post("/train", json=body)
    assert response.status_code == 201 and response.json()["result"]["answered"] == 4
    assert client.post("/train", json=body).json()["result"]["already_journaled"] == 4
    assert LabelingSession.open(session_path).labeled() == ([0, 1, 2, 3], truth[:4])


def test_every_annotation_survives_a_restart(session_path):
    _, truth = _texts()
    with TestClient(label_studio_backend(session_path)) as client:
        for row in range(5):
            client.post("/webhook", json=_created(row + 1, row, truth[row]))
        before = _predict(client, range(5, 20))
    with TestClient(label_studio_backend(session_path)) as client:  # a new process, in effect
        assert _predict(client, range(5, 20)) == before
        assert client.get("/health").json()["n_labeled"] == 5
        # the annotation -> journal map survived too: a deletion after the restart undoes
        deleted = {"action": "ANNOTATIONS_DELETED", "annotations": [{"id": 2}], "project": PROJECT}
        assert client.post("/webhook", json=deleted).json()["result"]["undone"] == 1
    assert LabelingSession.open(session_path).labeled() == ([0, 2, 3, 4],
                                                            [truth[r] for r in (0, 2, 3, 4)])


def test_basic_auth(session_path):
    app = label_studio_backend(session_path, basic_auth_user="ls", basic_auth_pass="s3cret")
    with TestClient(app) as client:
        denied = client.get("/health")
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Basic")
        assert client.get("/health", auth=("ls", "wrong")).status_code == 401
        garbage = {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}
        assert client.get("/health", headers=garbage).status_code == 401
        assert client.get("/health", auth=("ls", "s3cret")).status_code == 200
        assert client.post("/webhook", json=_created(1, 0, "bug")).status_code == 401


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(session_path, port):
    env = {**os.environ, "BASIC_AUTH_USER": "ls", "BASIC_AUTH_PASS": "pw"}
    process = subprocess.Popen(
        [sys.executable, "-m", "skprepal", "label-studio-backend", "--session", str(session_path),
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", auth=("ls", "pw")).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    process.kill()
    raise AssertionError(process.stdout.read().decode())


def _stop(process):
    process.send_signal(signal.SIGINT)  # as Ctrl-C
    assert process.wait(timeout=60) == 0


def test_through_a_real_uvicorn_server(session_path):
    _, truth = _texts()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    body = {"tasks": [_task(r) for r in range(4, 10)], "label_config": CONFIG}
    process = _serve(session_path, port)  # `skprepal label-studio-backend`, auth from the env
    try:
        assert httpx.get(f"{url}/health").status_code == 401
        for row in range(4):
            event = _created(row + 1, row, truth[row])
            response = httpx.post(f"{url}/webhook", json=event, auth=("ls", "pw"))
            assert response.status_code == 201
        served = httpx.post(f"{url}/predict", json=body, auth=("ls", "pw")).json()
    finally:
        _stop(process)
    session = LabelingSession.open(session_path)
    assert session.labeled() == ([0, 1, 2, 3], truth[:4])
    # A backend started anew on the file answers as the stopped one did.
    with TestClient(label_studio_backend(session_path)) as client:
        assert _predict(client, range(4, 10)) == served and served["results"][0]["result"]


def test_the_command_line_explains_a_missing_session(tmp_path, capsys):
    from skprepal.cli import main

    assert main(["label-studio-backend", "--session", str(tmp_path / "none.sqlite3")]) == 1
    assert "no session file" in capsys.readouterr().err
    assert label_studio_config(LABELS).count("<Choice ") == 3
