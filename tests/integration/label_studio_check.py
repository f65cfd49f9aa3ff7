"""skprepal as the ML backend of a REAL Label Studio server, end to end, on this machine only.

Run it with ``make label-studio-check`` (which installs PyPI's ``label-studio`` into its own
virtual environment, ``.venv-ls/``: it pins many packages of its own), or directly::

    .venv/bin/python tests/integration/label_studio_check.py [--ls-bin .venv-ls/bin/label-studio]

What it does, with Label Studio started on 127.0.0.1 (its own SQLite data folder, a preset user and
API token, sign-up closed) and ``skprepal label-studio-backend`` started on 127.0.0.1 with HTTP
basic auth:

1. makes a session of skprepal's shipped support tickets (the first 300 of 670, 5 topics);
2. creates a Label Studio project with a ``Choices`` config through the REST API, imports the
   tickets as tasks (skprepal's ``label-studio-tasks`` export) and connects the backend
   (``POST /api/ml``, with basic auth): Label Studio calls ``/health`` and ``/setup`` and
   registers the backend's ``/webhook`` for the project's events (to which it adds no
   credentials: the check adds the Authorization header to that webhook, as a user would);
3. creates annotations through the API (and one skip, one update, one deletion) and checks that
   each reached the session's journal through the webhook;
4. asks Label Studio to retrieve predictions for every task and checks that each one is
   skprepal's suggestion with its confidence as score, and that Label Studio's task list sorted by
   prediction score ascending (with the project's model version set to the backend's current
   one) is skprepal's confidence order;
5. restarts the backend, annotates once more, and checks the journal kept everything;
6. exports the project from Label Studio (JSON) and imports it into a fresh session: the same
   labels and skips.

It prints the figures and writes them to ``--report`` (JSON); exit status 0 when every check
passed. Nothing it starts listens beyond 127.0.0.1, and it stops both servers at the end.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Check:
    """Collects named checks and figures; prints each as it goes."""

    def __init__(self) -> None:
        self.results: list[dict] = []
        self.figures: dict = {}

    def __call__(self, name: str, ok: bool, detail: object = "") -> bool:
        self.results.append({"check": name, "ok": bool(ok), "detail": str(detail)})
        print(f"[{'ok' if ok else 'FAIL'}] {name}" + (f": {detail}" if detail != "" else ""),
              flush=True)
        return ok

    def figure(self, name: str, value: object) -> None:
        self.figures[name] = value
        print(f"  {name} = {value}", flush=True)


def _wait(url: str, *, auth=None, process=None, timeout=300.0, what="server") -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with status {process.returncode}")
        try:
            if httpx.get(url, auth=auth, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(1.0)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    for stop, wait in ((lambda: process.send_signal(signal.SIGINT), 20),
                       (process.terminate, 10), (process.kill, 10)):
        stop()
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run(args: argparse.Namespace) -> int:  # noqa: C901 - one scripted scenario, read top down
    import httpx
    import numpy as np

    from skprepal import FrozenLLMTransformer, PRepALLearner
    from skprepal.datasets import load_sample_texts
    from skprepal.labeling import LabelingSession, import_labels, label_studio_config

    check = Check()
    work = Path(tempfile.mkdtemp(prefix="skprepal-ls-check-"))
    logs = work / "logs"
    logs.mkdir()
    texts, truth = load_sample_texts(return_X_y=True)
    # Label Studio saves predictions one by one (~4 per second here): a subset keeps it brisk.
    texts, truth = [str(t) for t in texts[: args.n_items]], [str(y) for y in truth[: args.n_items]]
    labels = sorted(set(truth))
    embedder = FrozenLLMTransformer(cache_dir=str(ROOT / ".skprepal-cache"))
    session_path = work / "tickets.sqlite3"
    started = time.perf_counter()
    session = LabelingSession.create(
        session_path, texts, labels, embedder=embedder, learner=PRepALLearner(random_state=0),
        ids=[f"ticket-{i}" for i in range(len(texts))],
    )
    check.figure("session_items", len(texts))
    check.figure("labels", labels)
    tasks_file = session.export(work / "tasks.json", format="label-studio-tasks")
    session.close()
    check.figure("session_seconds", round(time.perf_counter() - started, 1))

    ls_port, ml_port = _free_port(), _free_port()
    ls_url, ml_url = f"http://127.0.0.1:{ls_port}", f"http://127.0.0.1:{ml_port}"
    token = secrets.token_hex(20)
    ml_auth = ("label-studio", secrets.token_urlsafe(12))
    backend_cmd = [
        sys.executable, "-m", "skprepal", "label-studio-backend", "--session", str(session_path),
        "--host", "127.0.0.1", "--port", str(ml_port),
        "--basic-auth-user", ml_auth[0], "--basic-auth-pass", ml_auth[1],
    ]
    ls_env = {
        **os.environ,
        "LABEL_STUDIO_USERNAME": "check@skprepal.local",
        "LABEL_STUDIO_PASSWORD": secrets.token_urlsafe(12),
        "LABEL_STUDIO_USER_TOKEN": token,
        "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
        "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true",
        "LABEL_STUDIO_BASE_DATA_DIR": str(work / "ls-data"),
        # The backend is on this machine: let Label Studio reach a loopback address (it blocks
        # local addresses for ML backends and webhooks by default, against SSRF).
        "ML_BLOCK_LOCAL_IP": "false",
        "SSRF_PROTECTION_ENABLED": "false",
        "WEBHOOK_TIMEOUT": "10",
        # Nothing leaves the machine: no error reports to Sentry, no version check on PyPI.
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
    }
    ls_cmd = [
        args.ls_bin, "start", "--no-browser", "--internal-host", "127.0.0.1",
        "--port", str(ls_port), "--data-dir", str(work / "ls-data"),
        "--username", ls_env["LABEL_STUDIO_USERNAME"],
        "--password", ls_env["LABEL_STUDIO_PASSWORD"], "--user-token", token,
        "--enable-legacy-api-token",
    ]
    backend = ls = None
    try:
        backend = subprocess.Popen(backend_cmd, stdout=open(logs / "backend.log", "w"),
                                   stderr=subprocess.STDOUT)
        ls = subprocess.Popen(ls_cmd, env=ls_env, stdout=open(logs / "label-studio.log", "w"),
                              stderr=subprocess.STDOUT, cwd=work)
        _wait(f"{ml_url}/health", auth=ml_auth, process=backend, what="skprepal backend")
        t0 = time.perf_counter()
        _wait(f"{ls_url}/health", process=ls, timeout=600, what="Label Studio")
        check.figure("label_studio_start_seconds", round(time.perf_counter() - t0, 1))
        api = httpx.Client(base_url=ls_url, headers={"Authorization": f"Token {token}"},
                           timeout=900)
        version = api.get("/api/version").json()
        check.figure("label_studio_version", version.get("release") or version.get("version"))

        # -- project, tasks, backend --------------------------------------------------------
        project = api.post("/api/projects", json={
            "title": "skprepal check", "label_config": label_studio_config(labels),
            "show_collab_predictions": True,
        })
        project.raise_for_status()
        pid = project.json()["id"]
        imported = api.post(f"/api/projects/{pid}/import", content=tasks_file.read_bytes(),
                            headers={"Content-Type": "application/json"})
        check("tasks imported through the REST API", imported.status_code in (200, 201),
              imported.text[:200])
        ls_tasks = []
        for _ in range(60):
            ls_tasks = _all_tasks(api, pid)
            if len(ls_tasks) >= len(texts):
                break
            time.sleep(1.0)
        check.figure("tasks_imported", len(ls_tasks))
        check("every ticket is a task", len(ls_tasks) == len(texts))
        row_of_task = {t["id"]: int(t["data"]["skprepal_id"].split("-")[1]) for t in ls_tasks}
        task_of_row = {row: tid for tid, row in row_of_task.items()}

        ml = api.post("/api/ml", json={
            "url": ml_url, "project": pid, "title": "skprepal", "is_interactive": False,
            "auth_method": "BASIC_AUTH", "basic_auth_user": ml_auth[0],
            "basic_auth_pass": ml_auth[1],
        })
        ml.raise_for_status()
        ml_info = api.get(f"/api/ml/{ml.json()['id']}").json()
        check("Label Studio connected the backend (health + setup, basic auth)",
              ml_info.get("state") == "CO", f"state={ml_info.get('state')} model_version="
              f"{ml_info.get('model_version')!r} error={ml_info.get('error_message')}")
        hooks = api.get("/api/webhooks/", params={"project": pid}).json()
        ours = [h for h in hooks if h["url"].rstrip("/") == f"{ml_url}/webhook"]
        check("Label Studio registered the backend's /webhook", len(ours) == 1,
              [h["url"] for h in hooks])
        # Label Studio's own webhook to the backend carries no credentials; with basic auth on,
        # the webhook needs the Authorization header, as a user adds it under Settings ->
        # Webhooks (or with this call).
        basic = base64.b64encode(f"{ml_auth[0]}:{ml_auth[1]}".encode()).decode()
        api.patch(f"/api/webhooks/{ours[0]['id']}/",
                  json={"headers": {"Authorization": f"Basic {basic}"}}).raise_for_status()

        # -- annotations through the API ------------------------------------------------------
        first = [row_of_task[t["id"]] for t in ls_tasks[:20]]
        annotation_ids = {}
        for row in first:
            response = api.post(f"/api/tasks/{task_of_row[row]}/annotations/", json={
                "result": [_choice(truth[row])], "was_cancelled": False, "lead_time": 2.0,
            })
            response.raise_for_status()
            annotation_ids[row] = response.json()["id"]
        skipped_row = row_of_task[ls_tasks[20]["id"]]
        api.post(f"/api/tasks/{task_of_row[skipped_row]}/annotations/",
                 json={"result": [], "was_cancelled": True}).raise_for_status()
        corrected_row, deleted_row = first[0], first[1]
        other = [x for x in labels if x != truth[corrected_row]][0]
        api.patch(f"/api/annotations/{annotation_ids[corrected_row]}/",
                  json={"result": [_choice(other)]}).raise_for_status()
        api.delete(f"/api/annotations/{annotation_ids[deleted_row]}/").raise_for_status()
        check.figure("annotations_created", len(first) + 1)
        expected = {row: truth[row] for row in first if row != deleted_row}
        expected[corrected_row] = other

        session = _wait_for_journal(session_path, expected, LabelingSession)
        rows, got = session.labeled()
        check("every annotation reached the session journal (webhook)",
              dict(zip(rows, got, strict=True)) == expected,
              f"{len(rows)} labeled in the session, {len(expected)} expected")
        check("the cancelled annotation is a skip",
              session.learner.skipped_indices_.tolist() == [skipped_row])
        journal = session.journal()
        kinds = [e["kind"] for e in journal]
        check.figure("journal_entries", {k: kinds.count(k) for k in ("answer", "skip", "undo")})
        check("journal entries name Label Studio and its user",
              bool(journal)
              and all(str(e["annotator"]).startswith("label-studio") for e in journal),
              sorted({str(e["annotator"]) for e in journal}))

        # -- predictions and task order --------------------------------------------------------
        t0 = time.perf_counter()
        action = api.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions",
                                                     "project": pid},
                          json={"project": pid, "selectedItems": {"all": True, "excluded": []}})
        check("Label Studio retrieved predictions", action.status_code == 200, action.text[:200])
        check.figure("predict_seconds", round(time.perf_counter() - t0, 1))
        current = api.get(f"/api/ml/{ml.json()['id']}").json().get("model_version")
        predictions = [p for p in api.get("/api/predictions/", params={"project": pid}).json()
                       if p.get("model_version") == current]
        # The Data Manager's "prediction score" averages the predictions of the project's model
        # version (by default the backend's title, which no prediction carries): point it at the
        # backend's current version, as Settings -> Annotation -> Predictions does.
        api.patch(f"/api/projects/{pid}", json={"model_version": current}).raise_for_status()
        check.figure("model_version", current)
        check.figure("predictions_returned", len(predictions))
        check("one prediction per task from the current model", len(predictions) == len(texts))
        session = LabelingSession.open(session_path)
        matches, worst = 0, 0.0
        for prediction in predictions:
            item = session.item(row_of_task[prediction["task"]])
            choice = prediction["result"][0]["value"]["choices"][0]
            worst = max(worst, abs(prediction["score"] - item["confidence"]))
            matches += choice == item["suggestion"]
        check("every prediction is skprepal's suggestion", matches == len(predictions),
              f"{matches}/{len(predictions)}")
        check("every score is skprepal's confidence", worst < 1e-6, f"max |diff| = {worst:.2g}")
        ordered = _all_tasks(api, pid, ordering=["tasks:predictions_score"])
        scores = [session.item(row_of_task[t["id"]])["confidence"] for t in ordered]
        shown = [t.get("predictions_score") for t in ordered]
        check("Label Studio's order by prediction score = skprepal's confidence, ascending",
              len(ordered) == len(texts) and None not in shown
              and all(a <= b + 1e-9 for a, b in zip(scores[:-1], scores[1:], strict=True))
              and max(abs(a - b) for a, b in zip(shown, scores, strict=True)) < 1e-6)
        check.figure("least_confident_first", [round(s, 3) for s in scores[:5]])
        check.figure("most_confident_last", [round(s, 3) for s in scores[-3:]])
        by_confidence = [r for r in np.argsort([session.item(r)["confidence"]
                                                for r in range(len(texts))], kind="stable")]
        unlabeled = set(range(len(texts))) - set(session.labeled()[0]) - {skipped_row}
        first_ls = [row_of_task[t["id"]] for t in ordered if row_of_task[t["id"]] in unlabeled]
        first_sk = [int(r) for r in by_confidence if int(r) in unlabeled]
        check.figure("first_10_unlabeled_by_label_studio_order", first_ls[:10])
        check.figure("first_10_unlabeled_by_skprepal_confidence", first_sk[:10])
        query = [int(r) for r in session.learner.query(10)]
        check.figure("skprepal_margin_query_10", query)
        check.figure("overlap_top10_label_studio_vs_margin_query",
                     len(set(first_ls[:10]) & set(query)))
        session.close()

        # -- restart --------------------------------------------------------------------------
        _stop(backend)
        backend = subprocess.Popen(backend_cmd, stdout=open(logs / "backend-2.log", "w"),
                                   stderr=subprocess.STDOUT)
        _wait(f"{ml_url}/health", auth=ml_auth, process=backend, what="skprepal backend")
        health = httpx.get(f"{ml_url}/health", auth=ml_auth).json()
        check("after a restart the backend has every label", health["n_labeled"] == len(expected),
              health)
        new_row = first_ls[0]
        response = api.post(f"/api/tasks/{task_of_row[new_row]}/annotations/",
                            json={"result": [_choice(truth[new_row])], "was_cancelled": False})
        response.raise_for_status()
        expected[new_row] = truth[new_row]
        session = _wait_for_journal(session_path, expected, LabelingSession)
        rows, got = session.labeled()
        check("an annotation after the restart reaches the journal",
              dict(zip(rows, got, strict=True)) == expected)
        api.post("/api/dm/actions", params={"id": "retrieve_tasks_predictions", "project": pid},
                 json={"project": pid, "selectedItems": {"all": True, "excluded": []}})
        newer = api.get(f"/api/ml/{ml.json()['id']}").json().get("model_version")
        check("the model version moved with the new label", newer != current,
              f"{current} -> {newer}")
        session.close()

        # -- Label Studio's export into a fresh session ---------------------------------------
        export = api.get(f"/api/projects/{pid}/export", params={"exportType": "JSON"})
        export.raise_for_status()
        export_path = work / "label-studio-export.json"
        export_path.write_bytes(export.content)
        fresh = LabelingSession.create(work / "fresh.sqlite3", texts, labels, embedder=embedder,
                                       ids=[f"ticket-{i}" for i in range(len(texts))])
        report = import_labels(fresh, export_path, "label-studio")
        rows, got = fresh.labeled()
        check("Label Studio's JSON export imports into a fresh session",
              dict(zip(rows, got, strict=True)) == expected
              and fresh.learner.skipped_indices_.tolist() == [skipped_row], report)
        check.figure("export_import", report)
        fresh.close()
    except Exception as exc:  # report what broke, with the logs' ends
        check("scenario ran to the end", False, f"{type(exc).__name__}: {exc}")
        for log in sorted(logs.glob("*.log")):
            print(f"--- {log.name} (last lines) ---")
            print("\n".join(log.read_text(errors="replace").splitlines()[-25:]))
    finally:
        _stop(backend)
        _stop(ls)
    passed = all(r["ok"] for r in check.results)
    summary = {"passed": passed, "checks": check.results, "figures": check.figures,
               "work_dir": str(work)}
    if args.report:
        Path(args.report).write_text(json.dumps(summary, indent=1) + "\n")
    n_ok = sum(r["ok"] for r in check.results)
    print(f"\n{n_ok} passed, {len(check.results) - n_ok} failed  (logs in {logs})")
    return 0 if passed else 1


def _choice(label: str) -> dict:
    return {"from_name": "label", "to_name": "text", "type": "choices",
            "value": {"choices": [label]}}


def _all_tasks(api, pid: int, ordering=None) -> list[dict]:
    tasks, page = [], 1
    while True:
        params = {"project": pid, "page": page, "page_size": 100}
        if ordering:
            params["query"] = json.dumps({"ordering": ordering})
        response = api.get("/api/tasks/", params=params)
        if response.status_code == 404:  # past the last page
            break
        response.raise_for_status()
        body = response.json()
        batch = body["tasks"] if isinstance(body, dict) else body
        tasks += batch
        if len(batch) < 100:
            break
        page += 1
    return tasks


def _wait_for_journal(path, expected: dict, LabelingSession, timeout: float = 60.0):
    """The session once its labels match ``expected`` (webhooks may land a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        session = LabelingSession.open(path)
        rows, got = session.labeled()
        if dict(zip(rows, got, strict=True)) == expected or time.monotonic() > deadline:
            return session
        session.close()
        time.sleep(1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ls-bin", default=str(ROOT / ".venv-ls" / "bin" / "label-studio"),
                        help="the label-studio executable (default: %(default)s)")
    parser.add_argument("--report", default=None, help="write the results as JSON here")
    parser.add_argument("--n-items", type=int, default=300,
                        help="tickets to use, of the 670 shipped (default: %(default)s)")
    args = parser.parse_args()
    if not Path(args.ls_bin).exists():
        print(f"no Label Studio at {args.ls_bin}: `make label-studio-check` installs it into "
              ".venv-ls/", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
