"""``skprepal label`` as a real server, ``skprepal export`` and ``skprepal finetune``; their
argument errors are one line, found before anything is embedded."""

from __future__ import annotations

import csv
import json
import socket

import pytest
import uvicorn  # noqa: F401  (the dev extra has it: a missing server fails, never skips)

from skprepal import FrozenLLMTransformer, PRepALLearner, TransferFineTuner
from skprepal.cli import main
from skprepal.labeling import LabelingSession

from ._server import TOPICS, LabelServer, ticket_texts, write_tickets


@pytest.fixture
def tickets(tmp_path):
    path = tmp_path / "tickets.csv"
    truth = write_tickets(path, 60, markup=True)
    return path, truth


def label_args(tickets_path, tiny_bert, tmp_path, *extra):
    return [
        str(tickets_path), "--text-column", "body", "--id-column", "key",
        "--labels", *TOPICS, "--model", str(tiny_bert), "--cache-dir", str(tmp_path / "cache"),
        *extra,
    ]


def test_label_serves_on_loopback_with_a_token_and_resumes(tickets, tiny_bert, tmp_path):
    path, truth = tickets
    session_path = tmp_path / "tickets.session.sqlite3"  # the default beside the file
    args = label_args(path, tiny_bert, tmp_path, "--annotator", "ana")
    answered = []
    with LabelServer(args) as server:
        assert server.base.startswith("http://127.0.0.1:")
        assert any(f"Created {session_path}" in line for line in server.lines)
        status, data = server.request("GET", "/api/next", token=None)
        assert status == 403 and set(data) == {"error"}
        status, _ = server.request("GET", "/api/next", token="not-the-token")
        assert status == 403
        status, _ = server.request("GET", "/?token=" + server.token, token=None)
        assert status == 200
        item = server.get("/api/next")["item"]
        assert "<script>" in item["text"] and item["id"].startswith("T")
        for k in range(6):
            data = server.post("/api/answer", {
                "row": item["row"], "label": truth[item["id"]], "request_id": f"r{k}",
            })
            answered.append((item["row"], truth[item["id"]]))
            assert data["saved"]["row"] == item["row"] and data["item"]["row"] != item["row"]
            item = data["item"]
        # The same request again (its response lost, say): saved once.
        again = server.post("/api/answer", {"row": answered[-1][0], "label": answered[-1][1],
                                            "request_id": "r5"})
        assert again["saved"]["retried"] is True
        expected_next = item["row"]
        assert server.stop() == 0  # Ctrl-C ends it cleanly
    assert not any("Traceback" in line for line in server.errors)
    # Run the same command again: the session reopens where it was.
    with LabelServer(args) as server:
        assert any("Reopened" in line and "6 labeled" in line for line in server.lines)
        progress = server.get("/api/progress")["progress"]
        assert progress["n_labeled"] == 6
        assert server.get("/api/next?annotator=ana")["item"]["row"] == expected_next
    journal = LabelingSession.open(session_path).journal()
    assert [(e["row"], e["label"]) for e in journal] == answered
    assert {e["annotator"] for e in journal} == {"ana"}
    # Export from the command line.
    out = tmp_path / "labels.csv"
    assert main(["export", str(session_path), "--out", str(out)]) == 0
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["label"] for r in rows] == [label for _, label in answered]
    assert all(r["id"].startswith("T") and "<script>" in r["text"] for r in rows)


def _help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    return " ".join(capsys.readouterr().out.split())


def test_label_help_shows_every_default(capsys):
    text = _help("label", capsys)
    for default in ("default: 127.0.0.1", "default: 8765", "default: text",
                    "default: FILE's name with .session.sqlite3", "default: from its suffix",
                    "default: SESSION.cache", "default: the packaged all-MiniLM-L6-v2",
                    "default: none"):
        assert default in text
    assert "default: jsonl for a .jsonl --out, csv otherwise" in _help("export", capsys)
    text = _help("finetune", capsys)
    assert "default: the session's encoder" in text and "default: 3" in text


@pytest.fixture
def made_session(tmp_path, tiny_bert, tickets):
    """A session made from the tickets file's ``body`` column, with ids from ``key``."""
    path, truth = tickets
    texts, _ = ticket_texts(60, markup=True)
    session = LabelingSession.create(
        tmp_path / "made.sqlite3", texts, labels=list(TOPICS), ids=list(truth),
        embedder=FrozenLLMTransformer(str(tiny_bert), device="cpu",
                                      cache_dir=str(tmp_path / "cache")),
        learner=PRepALLearner(random_state=0),
    )
    return session, truth


def _other_file(tmp_path):
    other = tmp_path / "other.csv"
    write_tickets(other, 61)
    return other


def _busy_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda t, f, s: [str(t / "missing.csv"), "--labels", "a", "b"], "no such file"),
        (lambda t, f, s: [str(f), "--labels", "a", "b"], "has no column 'text'"),
        (lambda t, f, s: [str(f), "--text-column", "body"], "a new session needs its labels"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--labels", "a"],
         "at least two label names"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--labels", "a", "a"],
         "repeats a label"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--labels", "a", "b",
                          "--id-column", "nope"], "no column 'nope' (--id-column)"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--labels", "a", "b",
                          "--session", str(t / "no" / "s.sqlite3")], "folder does not exist"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--labels", "a", "b",
                          "--session", str(t)], "is a folder"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--labels", "a", "b",
                          "--port", "70000"], "is not a port number"),
        # An existing session made from other texts, with other labels or another encoder.
        (lambda t, f, s: [str(_other_file(t)), "--text-column", "body", "--session", str(s)],
         "was made from other texts"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--session", str(s), "--labels",
                          "a", "b"], "has the labels billing login bug"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--session", str(s),
                          "--id-column", "body"], "ids in column 'body' differ"),
        (lambda t, f, s: [str(f), "--text-column", "body", "--session", str(f)],
         "not a skprepal session file"),
    ],
    ids=["no-file", "no-column", "no-labels", "one-label", "repeated-label", "no-id-column",
         "no-folder", "session-is-folder", "bad-port", "other-texts", "other-labels",
         "other-ids", "not-a-session"],
)
def test_label_refuses_wrong_arguments_in_one_line_before_embedding(
    tmp_path, tickets, made_session, capsys, make_args, message
):
    path, _ = tickets
    session, _ = made_session
    session.close()
    args = make_args(tmp_path, path, session.path)
    # A model that does not exist: an error message about it would mean it was loaded.
    code = main(["label", *args, "--model", str(tmp_path / "no-such-model")]
                if "--session" not in args else ["label", *args])
    captured = capsys.readouterr()
    assert code == 1
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skprepal: error: "), captured.err
    assert message in lines[0]
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "tickets.session.sqlite3").exists()


def test_label_refuses_a_busy_port_before_embedding(tmp_path, tickets, capsys):
    path, _ = tickets
    busy = _busy_port()
    try:
        code = main(["label", str(path), "--text-column", "body", "--labels", "a", "b",
                     "--model", str(tmp_path / "no-such-model"), "--port",
                     str(busy.getsockname()[1])])
    finally:
        busy.close()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "cannot listen on 127.0.0.1:" in err[0]
    assert not (tmp_path / "tickets.session.sqlite3").exists()


def test_a_model_that_cannot_be_loaded_leaves_no_session_behind(tmp_path, tickets, capsys):
    path, _ = tickets
    code = main(["label", str(path), "--text-column", "body", "--labels", "a", "b",
                 "--model", str(tmp_path / "no-such-model"), "--port", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "no-such-model" in err[0], err
    assert not (tmp_path / "tickets.session.sqlite3").exists()


def test_reopening_with_another_model_is_refused(tmp_path, tickets, made_session, capsys):
    path, _ = tickets
    session, _ = made_session
    session.close()
    code = main(["label", str(path), "--text-column", "body", "--session", str(session.path),
                 "--model", "some/other-model"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "drop --model" in err[0]


def _answer_some(session, truth, k):
    answered = []
    for _ in range(k):
        item = session.next()[0]
        session.answer(item["row"], truth[item["id"]], annotator="ana")
        answered.append((item["id"], truth[item["id"]]))
    return answered


def test_export_writes_csv_or_jsonl(tmp_path, made_session, capsys):
    session, truth = made_session
    answered = _answer_some(session, truth, 5)
    session.close()
    out = tmp_path / "labels.jsonl"
    assert main(["export", str(session.path), "--out", str(out)]) == 0  # jsonl from the suffix
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["label"]) for r in records] == answered
    assert {r["annotator"] for r in records} == {"ana"}
    assert "Wrote 5 labels" in capsys.readouterr().out
    out_csv = tmp_path / "labels.txt"
    assert main(["export", str(session.path), "--out", str(out_csv), "--format", "csv"]) == 0
    assert out_csv.read_text(encoding="utf-8").startswith("id,text,label,annotator,time")


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda t, s: ["export", str(t / "none.sqlite3"), "--out", str(t / "x.csv")],
         "no session file"),
        (lambda t, s: ["export", str(s), "--out", str(t / "no" / "x.csv")],
         "folder does not exist"),
        (lambda t, s: ["finetune", str(t / "none.sqlite3"), "--out", str(t / "m")],
         "no session file"),
        (lambda t, s: ["finetune", str(s), "--out", str(t / "m"), "--epochs", "0"],
         "must be positive"),
        (lambda t, s: ["finetune", str(s), "--out", str(s)], "is not an empty folder"),
        (lambda t, s: ["finetune", str(s), "--out", str(t / "m")], "at least two classes"),
    ],
    ids=["export-no-session", "export-no-folder", "finetune-no-session", "epochs",
         "out-exists", "one-class"],
)
def test_export_and_finetune_refuse_wrong_arguments_in_one_line(
    tmp_path, made_session, capsys, make_args, message
):
    session, _ = made_session
    session.answer(0, "bug")  # one class only
    session.close()
    code = main(make_args(tmp_path, session.path))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("skprepal: error: ")
    assert message in err[0]
    assert not (tmp_path / "m").exists()


def test_finetune_trains_on_the_sessions_labels_and_saves(tmp_path, made_session, tiny_bert,
                                                           capsys):
    session, truth = made_session
    answered = _answer_some(session, truth, 12)
    session.close()
    out = tmp_path / "model"
    code = main(["finetune", str(session.path), "--out", str(out), "--model", str(tiny_bert),
                 "--epochs", "1"])
    assert code == 0
    assert "on 12 labels" in capsys.readouterr().out
    tuner = TransferFineTuner.load(out, device="cpu")
    assert set(tuner.classes_) == {label for _, label in answered}
    texts, _ = ticket_texts(60, markup=True)
    assert set(tuner.predict(texts[:5])) <= set(TOPICS)
