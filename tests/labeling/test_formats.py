"""Export and import: Label Studio, Prodigy, Argilla and skprepal's own files, in their shapes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skprepal import FrozenLLMTransformer, PRepALLearner
from skprepal.exceptions import InvalidInputError
from skprepal.labeling import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    LabelingSession,
    import_labels,
    label_studio_config,
)
from skprepal.labeling._formats import parse_label_config, select_control

LABELS = ["billing", "login", "bug"]
WORDS = {
    "billing": ["refund", "invoice", "charged", "card"],
    "login": ["password", "login", "locked", "account"],
    "bug": ["crash", "error", "broken", "freeze"],
}


def _texts(n=60, seed=0):
    rng = np.random.RandomState(seed)
    truth = [LABELS[i % 3] for i in range(n)]
    texts = [f"{' '.join(rng.choice(WORDS[t], 3))} ticket {i}" for i, t in enumerate(truth)]
    return texts, truth


@pytest.fixture
def make_session(tmp_path, tiny_bert):
    counter = iter(range(1000))

    def make(labels=LABELS, n=60, **kwargs):
        texts, truth = _texts(n)
        kwargs.setdefault("learner", PRepALLearner(random_state=0))
        session = LabelingSession.create(
            tmp_path / f"s{next(counter)}.sqlite3", texts, labels=list(labels),
            embedder=FrozenLLMTransformer(str(tiny_bert), device="cpu"),
            ids=[f"t{i}" for i in range(n)], **kwargs,
        )
        return session, texts, truth

    return make


@pytest.fixture
def worked(make_session):
    """A session with answers, a correction, an undone answer and a skip."""
    session, texts, truth = make_session()
    for row in (0, 1, 2, 3, 4, 5):
        session.answer(row, truth[row], annotator="ana")
    session.answer(1, "bug", annotator="bo")  # a correction
    session.answer(7, "login", annotator="bo")
    session.undo(annotator="bo")  # takes back row 7
    session.skip(9, annotator="ana")
    return session, texts, truth


def _skipped(session):
    return sorted(int(r) for r in session.learner.skipped_indices_)


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_every_export_imports_back_to_the_same_labels(worked, make_session, tmp_path, fmt):
    source, _, _ = worked
    out = source.export(tmp_path / f"labels.{fmt}", format=fmt)
    target, _, _ = make_session()
    report = import_labels(target, out, fmt)
    assert target.labeled() == source.labeled()
    own = fmt in ("csv", "jsonl")  # skprepal's plain files hold labels only
    assert _skipped(target) == ([] if own else [9])
    assert report["n_answered"] == 6 and report["n_skipped"] == (0 if own else 1)
    annotators = {e["annotator"] for e in target.journal()}
    if fmt == "label-studio" or fmt == "label-studio-tasks":
        assert annotators == {"label-studio:ana", "label-studio:bo"}
    elif fmt == "prodigy":
        assert annotators == {"prodigy:ana", "prodigy:bo"}
    elif fmt == "argilla":
        assert annotators == {"argilla:ana", "argilla:bo"}
    # Importing the same file again journals nothing new.
    again = import_labels(target, out, fmt)
    assert again["n_answered"] == again["n_skipped"] == 0 and again["n_already"] == 6 + (not own)
    # ... and the session goes on actively from the imported labels.
    item = target.next()[0]
    assert item["row"] not in set(target.labeled()[0]) | {9}
    assert item["suggestion"] in LABELS and 0.0 < item["confidence"] <= 1.0
    if not own:  # the same labels and skips: the same next questions
        np.testing.assert_array_equal(target.learner.query(5), source.learner.query(5))


def test_label_studio_export_has_the_documented_shape(worked, tmp_path):
    session, texts, _ = worked
    tasks = json.loads(session.export(tmp_path / "ls.json", format="label-studio").read_text())
    assert len(tasks) == 7  # six labeled, one skipped
    first = tasks[0]
    assert first["data"] == {"text": texts[0], "skprepal_id": "t0"}
    (annotation,) = first["annotations"]
    (region,) = annotation["result"]
    assert region["type"] == "choices" and region["from_name"] == "label"
    assert region["to_name"] == "text" and region["value"] == {"choices": ["billing"]}
    assert annotation["was_cancelled"] is False and annotation["created_at"].endswith("Z")
    skipped = tasks[-1]
    assert skipped["data"]["skprepal_id"] == "t9"
    assert skipped["annotations"][0] == {**skipped["annotations"][0], "was_cancelled": True,
                                         "result": []}


def test_label_studio_tasks_carry_the_suggestion_and_its_confidence(worked, tmp_path):
    session, _, _ = worked
    tasks = json.loads(
        session.export(tmp_path / "tasks.json", format="label-studio-tasks").read_text()
    )
    assert len(tasks) == 60  # every item
    for row, task in enumerate(tasks):
        item = session.item(row)
        (prediction,) = task["predictions"]
        assert prediction["score"] == pytest.approx(item["confidence"])
        assert prediction["result"][0]["value"]["choices"] == [item["suggestion"]]
        assert prediction["model_version"].startswith("skprepal-")
    # Sorting by prediction score ascending lists the least confident items first.
    by_score = sorted(range(60), key=lambda r: tasks[r]["predictions"][0]["score"])
    confidences = [session.item(r)["confidence"] for r in by_score]
    assert confidences == sorted(confidences)
    assert [bool(t.get("annotations")) for t in tasks].count(True) == 7


def test_prodigy_and_argilla_exports_have_the_documented_shape(worked, tmp_path):
    session, texts, _ = worked
    lines = session.export(tmp_path / "p.jsonl", format="prodigy").read_text().splitlines()
    task = json.loads(lines[0])
    assert task["text"] == texts[0] and task["answer"] == "accept"
    assert task["accept"] == ["billing"] and [o["id"] for o in task["options"]] == LABELS
    assert isinstance(task["_input_hash"], int) and isinstance(task["_task_hash"], int)
    assert -(2**31) <= task["_input_hash"] < 2**31
    assert json.loads(lines[-1])["answer"] == "ignore"
    records = json.loads(session.export(tmp_path / "a.json", format="argilla").read_text())
    first = records[0]
    assert first["text"] == texts[0] and first["label.responses"] == ["billing"]
    assert first["label.responses.status"] == ["submitted"]
    assert first["label.responses.users"] == ["ana"]
    assert first["label.suggestion"] in LABELS and 0 < first["label.suggestion.score"] <= 1
    assert records[-1]["label.responses.status"] == ["discarded"]


# -- files in each tool's own shape ----------------------------------------------------------------


def _ls_annotation(ident, choice=None, *, cancelled=False, when="2024-05-01T10:00:00.000000Z",
                   who=1, from_name="sentiment"):
    """An annotation as Label Studio's JSON export writes it."""
    result = [] if choice is None else [{
        "value": {"choices": [choice]}, "id": f"r{ident}", "from_name": from_name,
        "to_name": "text", "type": "choices", "origin": "manual",
    }]
    return {
        "id": ident, "completed_by": who, "result": result, "was_cancelled": cancelled,
        "ground_truth": False, "created_at": when, "updated_at": when, "draft_created_at": None,
        "lead_time": 4.2, "prediction": {}, "result_count": 0, "unique_id": f"u{ident}",
        "import_id": None, "last_action": None, "task": ident, "project": 3, "updated_by": who,
        "parent_prediction": None, "parent_annotation": None, "last_created_by": None,
    }


def _ls_task(ident, text, annotations, predictions=()):
    return {
        "id": ident, "annotations": list(annotations), "file_upload": "tickets.json",
        "drafts": [], "predictions": list(predictions), "data": {"text": text}, "meta": {},
        "created_at": "2024-05-01T09:00:00.000000Z", "updated_at": "2024-05-01T10:00:00Z",
        "inner_id": ident, "total_annotations": len(annotations), "cancelled_annotations": 0,
        "total_predictions": len(predictions), "comment_count": 0,
        "unresolved_comment_count": 0, "last_comment_updated_at": None, "project": 3,
        "updated_by": 1, "comment_authors": [],
    }


def test_a_label_studio_project_export_imports(make_session, tmp_path):
    session, texts, _ = make_session()
    prediction = {"model_version": "m1", "score": 0.4, "result": [{
        "from_name": "sentiment", "to_name": "text", "type": "choices",
        "value": {"choices": ["bug"]}}]}
    export = [
        _ls_task(1, texts[0], [_ls_annotation(11, "billing")]),
        # two annotators: the later annotation decides
        _ls_task(2, texts[1], [_ls_annotation(12, "bug", when="2024-05-01T10:00:00Z"),
                               _ls_annotation(13, "login", when="2024-05-02T10:00:00Z", who=2)]),
        # one skipped, one labeled: the label stands
        _ls_task(3, texts[2], [_ls_annotation(14, cancelled=True),
                               _ls_annotation(15, "bug", who=2)]),
        _ls_task(4, texts[3], [_ls_annotation(16, cancelled=True)]),  # skipped
        _ls_task(5, texts[4], [], predictions=[prediction]),  # predictions are no labels
        _ls_task(6, texts[5], [_ls_annotation(17)]),  # submitted without a choice
    ]
    path = tmp_path / "project-3-at-2024.json"
    path.write_text(json.dumps(export))
    report = import_labels(session, path, "label-studio")
    assert session.labeled() == ([0, 1, 2], ["billing", "login", "bug"])
    assert _skipped(session) == [3]
    assert report == {"n_entries": 5, "n_answered": 3, "n_skipped": 1, "n_already": 0,
                      "n_no_label": 1, "n_unknown": 0, "unknown": []}
    annotators = [e["annotator"] for e in session.journal()]
    assert annotators == ["label-studio:1", "label-studio:2", "label-studio:2", "label-studio:1"]


def test_a_prodigy_db_out_file_imports(make_session, tmp_path):
    session, texts, _ = make_session()
    lines = [
        # textcat.teach / classification: binary decisions on one label
        {"text": texts[0], "label": "billing", "_input_hash": -1080010644,
         "_task_hash": -1728445858, "answer": "accept", "_session_id": "tickets-ana"},
        {"text": texts[1], "label": "billing", "_input_hash": 1707452978,
         "_task_hash": 1849331881, "answer": "reject"},  # three labels: no label learned
        {"text": texts[2], "label": "bug", "answer": "ignore", "_input_hash": 1, "_task_hash": 2},
        # textcat.manual / choice
        {"text": texts[3], "options": [{"id": x, "text": x} for x in LABELS],
         "accept": ["login"], "answer": "accept", "_view_id": "choice",
         "_input_hash": 3, "_task_hash": 4, "_annotator_id": "tickets-bo"},
        {"text": texts[4], "options": [{"id": 1, "text": "bug"}], "accept": [1],
         "answer": "accept", "_input_hash": 5, "_task_hash": 6},  # ids that are not labels
    ]
    path = tmp_path / "tickets.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    report = import_labels(session, path, "prodigy")
    assert session.labeled() == ([0, 3, 4], ["billing", "login", "bug"])
    assert _skipped(session) == [2] and report["n_no_label"] == 1
    assert [e["annotator"] for e in session.journal()][:2] == [
        "prodigy:tickets-ana", "prodigy"]


def test_a_prodigy_reject_is_the_other_label_of_two(make_session, tmp_path):
    session, texts, _ = make_session(labels=["billing", "other"])
    path = tmp_path / "binary.jsonl"
    path.write_text(json.dumps({"text": texts[0], "label": "billing", "answer": "reject"}))
    import_labels(session, path, "prodigy")
    assert session.labeled() == ([0], ["other"])


def test_argilla_records_import_flattened_and_nested(make_session, tmp_path):
    session, texts, _ = make_session()
    ana, bo, cy = ("0b9f7a3e-0000-4000-8000-00000000000a", "0b9f7a3e-0000-4000-8000-00000000000b",
                   "0b9f7a3e-0000-4000-8000-00000000000c")
    flat = [  # dataset.records.to_list(flatten=True)
        {"id": "r0", "_server_id": "s0", "status": "completed", "text": texts[0],
         "label.responses": ["billing"], "label.responses.users": [ana],
         "label.responses.status": ["submitted"], "label.suggestion": "bug",
         "label.suggestion.score": 0.7, "label.suggestion.agent": "model-a"},
        # three annotators: the majority
        {"id": "r1", "_server_id": "s1", "status": "completed", "text": texts[1],
         "label.responses": ["bug", "login", "login"], "label.responses.users": [ana, bo, cy],
         "label.responses.status": ["submitted", "submitted", "submitted"]},
        {"id": "r2", "_server_id": "s2", "status": "completed", "text": texts[2],
         "label.responses": [None], "label.responses.users": [bo],
         "label.responses.status": ["discarded"]},
        {"id": "r3", "_server_id": "s3", "status": "pending", "text": texts[3],
         "label.responses": ["bug"], "label.responses.users": [ana],
         "label.responses.status": ["draft"]},  # a draft is no label
        {"id": "r4", "_server_id": "s4", "status": "pending", "text": texts[4],
         "label.responses": None, "label.responses.users": None,
         "label.responses.status": None, "label.suggestion": "bug"},  # a suggestion alone
    ]
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(flat))
    report = import_labels(session, path, "argilla")
    assert session.labeled() == ([0, 1], ["billing", "login"])
    assert _skipped(session) == [2] and report["n_no_label"] == 2
    assert session.journal()[1]["annotator"] == f"argilla:{bo}"
    # The nested shape (records.to_json), as JSON Lines, with other field and question names.
    nested = [{"id": "r5", "fields": {"review": texts[5]}, "metadata": {},
               "suggestions": {"topic": {"value": "bug", "score": 0.9, "agent": None}},
               "responses": {"topic": [{"value": "bug", "user_id": cy}]},
               "vectors": {}, "_server_id": "s5"}]
    path = tmp_path / "nested.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in nested))
    import_labels(session, path, "argilla", field="review", question="topic")
    assert session.labeled() == ([0, 1, 5], ["billing", "login", "bug"])


# -- files that are not what they claim ------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt, content, message",
    [
        ("label-studio", '{"text": "a", "answer": "accept"}\n{"text": "b"}',
         r"not JSON \(line 2, column 1: Extra data\); expected Label Studio's JSON export"),
        ("label-studio", '[{"text": "a"}]', r"task 1: has no 'data' object"),
        ("label-studio", '[{"data": {"text": "a"}, "annotations": [{"result": '
         '[{"type": "choices", "from_name": "l", "value": {"choices": ["bug", "login"]}}]}]}]',
         r"task 1, annotation 1 chooses 2 labels"),
        ("label-studio", '{"tasks": []}', r"holds a JSON dict"),
        ("prodigy", '[{"text": "a", "answer": "accept"}]', r"line 1: has no 'text' string"),
        ("prodigy", '{"text": "a", "label": "bug", "answer": "accept"}\n{"text": "b"}',
         r"line 2: 'answer' is None; Prodigy annotations say 'accept', 'reject' or 'ignore'"),
        ("prodigy", '{"text": "a", "answer": "accept"}\nnot json',
         r"line 2: is not JSON .*expected Prodigy annotations"),
        ("prodigy", '{"text": "a", "answer": "accept"}', r"line 1: has neither 'label'"),
        ("argilla", '"a"', r"holds a JSON str; expected Argilla 2.x records"),
        ("argilla", '{"fields": {"content": "a"}}', r"line 1: has no text field 'text'"),
        ("argilla", '[{"id": "r1", "content": "a"}]', r"record 1: has no text field 'text'"),
        ("argilla", '[{"text": "a", "label.responses": ["bug", "login"]}, '
         '{"text": "b", "label.responses": [["bug", "login"]]}]',
         r"record 2: a response chooses 2 labels"),
        ("csv", "id,content\n1,a\n", r"has columns \['id', 'content'\]; expected skprepal's"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_a_clear_error(
    make_session, tmp_path, fmt, content, message
):
    session, _, _ = make_session()
    path = tmp_path / "input.file"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=message) as info:
        import_labels(session, path, fmt)
    assert "input.file" in str(info.value)
    assert session.journal() == []


def test_unknown_labels_and_items_are_refused_and_nothing_is_written(make_session, tmp_path):
    session, texts, _ = make_session()
    path = tmp_path / "p.jsonl"
    path.write_text(
        json.dumps({"text": texts[0], "label": "bilig", "answer": "accept"}) + "\n"
    )
    with pytest.raises(InvalidInputError, match=r"line 1: label 'bilig' is not one of the "
                       r"session's labels .* Did you mean 'billing'\?"):
        import_labels(session, path, "prodigy")
    path.write_text("\n".join(json.dumps(line) for line in [
        {"text": texts[0], "label": "bug", "answer": "accept"},
        {"text": "a text this session never had", "label": "bug", "answer": "accept"},
    ]))
    with pytest.raises(InvalidInputError, match=r"1 annotated item\(s\) are not in this session"
                       r".*first at line 2.*on_unknown='ignore'"):
        import_labels(session, path, "prodigy")
    assert session.journal() == []
    report = import_labels(session, path, "prodigy", on_unknown="ignore")
    assert report["n_unknown"] == 1 and report["unknown"] == ["line 2"]
    assert session.labeled() == ([0], ["bug"])
    with pytest.raises(InvalidInputError, match="format='prodigi' is not supported"):
        import_labels(session, path, "prodigi")


def test_items_are_matched_by_skprepal_id_before_text(make_session, tmp_path):
    session, texts, _ = make_session()
    tasks = [
        # the id wins over a text edited in Label Studio ...
        {"data": {"skprepal_id": "t4"}, "annotations": [_ls_annotation(1, "bug")]},
        # ... but an id naming another text (a file of another session) falls back to the text
        {"data": {"text": texts[6], "skprepal_id": "t5"},
         "annotations": [_ls_annotation(2, "bug")]},
    ]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    import_labels(session, path, "label-studio", text_key=None)
    assert session.labeled() == ([4, 6], ["bug", "bug"])


def test_a_skip_never_overrides_a_label(make_session, tmp_path):
    session, texts, _ = make_session()
    session.answer(0, "bug", annotator="ana")
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"text": texts[0], "label": "bug", "answer": "ignore"}))
    report = import_labels(session, path, "prodigy")
    assert report["n_skipped"] == 0 and session.labeled() == ([0], ["bug"])


def test_import_through_the_session_method_and_an_annotator_override(make_session, tmp_path):
    session, texts, _ = make_session()
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"text": texts[0], "label": "bug", "answer": "accept"}))
    session.import_labels(path, "prodigy", annotator="team-a")
    assert session.journal()[0]["annotator"] == "team-a"
    assert set(IMPORT_FORMATS) == set(EXPORT_FORMATS)


# -- Label Studio labeling configs ----------------------------------------------------------------


def test_label_studio_config_round_trips_and_mismatches_are_explained():
    (control,) = parse_label_config(label_studio_config(LABELS))
    assert (control.from_name, control.to_name, control.text_key) == ("label", "text", "text")
    assert control.values == tuple(LABELS) and not control.multiple
    assert select_control([control], list(reversed(LABELS)), where="x") is control
    with pytest.raises(InvalidInputError, match=r"missing \['refund'\], not in the session "
                       r"\['bug'\]"):
        select_control([control], ["billing", "login", "refund"], where="the config")
    config = """<View><Text name="t" value="$review"/><Choices name="c" toName="t"
      choice="multiple"><Choice value="billing" alias="B"/><Choice value="login"/>
      <Choice value="bug"/></Choices></View>"""
    (control,) = parse_label_config(config)
    assert control.text_key == "review" and control.token_of("billing") == "B"
    assert control.label_of("B") == "billing" and control.label_of("login") == "login"
    with pytest.raises(InvalidInputError, match='choice="multiple"'):
        select_control([control], LABELS, where="x")
    with pytest.raises(InvalidInputError, match="has no <Choices> control"):
        select_control(parse_label_config("<View/>"), LABELS, where="x")
    with pytest.raises(InvalidInputError, match="is not valid XML"):
        parse_label_config("<View>")
