"""How long a person waits for the next item: answer -> refit -> query, through the real server.

A 100,000-text pool (SST-2 train, AG News, TREC-6 and QNLI texts from ../shared/data, embedded
once with the packaged MiniLM into a cache), a session already holding 2,000 answers, then
``skprepal label`` serving it on 127.0.0.1. A client answers items as the page does (each answer's
response carries the next item) and times every answer from request to response. Reported: the
median and the 95th percentile, next to the parts measured in-process on the same session (the
head's refit, the query over the pool).

Usage::

    python benchmarks/labeling_latency.py                 # 100,000 texts, 2,000 labels, 200 answers
    python benchmarks/labeling_latency.py --quick         # 10,000 texts, 500 labels, 50 answers
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np
from loop import cpu_description  # benchmarks/ scripts share their machine description

import skprepal
from skprepal import FrozenLLMTransformer
from skprepal.datasets import load_ag_news, load_qnli, load_sst2, load_trec
from skprepal.labeling import LabelingSession

RESULTS = Path(__file__).resolve().parent / "results"


def pool_texts(n: int, distinct: int | None = None) -> tuple[list[str], list[str]]:
    """``n`` short texts with their source as the label (5 classes).

    With ``distinct``, only that many different texts, repeated to ``n`` rows: the pool, the
    refit and the query cost what ``n`` rows cost, while only ``distinct`` texts are embedded.
    """
    texts, labels = [], []
    sst2 = load_sst2("train")
    texts += list(sst2.data)
    labels += [f"sst2-{'pos' if t == 1 else 'neg'}" for t in sst2.target]
    for name, data in (("ag_news", load_ag_news("test")), ("ag_news", load_ag_news("train")),
                       ("trec", load_trec("train")), ("trec", load_trec("test"))):
        texts += [str(t) for t in data.data]
        labels += [name] * len(data.data)
    qnli = load_qnli("dev")
    for column in (0, 1):
        texts += [str(pair[column]) for pair in qnli.data]
        labels += ["qnli"] * len(qnli.data)
    if len(texts) < n:
        raise SystemExit(f"only {len(texts)} texts in ../shared/data; ask for at most that many")
    order = np.random.default_rng(0).permutation(len(texts))[: distinct or n]
    order = np.resize(order, n)
    return [texts[i] for i in order], [labels[i] for i in order]


def post(base: str, token: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Skprepal-Token": token},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def get(base: str, token: str, path: str) -> dict:
    request = urllib.request.Request(base + path, headers={"X-Skprepal-Token": token})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 texts, 500 labels")
    parser.add_argument("--workdir", default=None, help="keeps the embedding cache for reruns")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and torch threads")
    parser.add_argument(
        "--distinct", type=int, default=None,
        help="embed only this many different texts, repeated to fill the pool (default: all "
        "different); the latency depends on the pool's size, not on its texts",
    )
    args = parser.parse_args(argv)
    n_texts, n_labels, n_answers = (10_000, 500, 50) if args.quick else (100_000, 2_000, 200)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="skprepal-latency-"))
    work.mkdir(parents=True, exist_ok=True)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)

    texts, truth = pool_texts(n_texts, args.distinct)
    classes = sorted(set(truth))
    source = work / f"pool-{n_texts}.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([str(i), t] for i, t in enumerate(texts))
    session_path = work / f"session-{n_texts}-{uuid.uuid4().hex[:8]}.sqlite3"
    start = time.perf_counter()
    embedder = FrozenLLMTransformer(cache_dir=str(work / "cache"))
    session = LabelingSession.create(session_path, texts, classes, embedder=embedder,
                                     ids=[str(i) for i in range(n_texts)])
    embed_seconds = time.perf_counter() - start
    rows = np.random.default_rng(1).choice(n_texts, size=n_labels, replace=False)
    start = time.perf_counter()
    for row in rows:
        session.answer(int(row), truth[row], annotator="warm-up")
    prefill_seconds = time.perf_counter() - start
    # The parts, in-process, at n_labels labels.
    learner = session.learner
    refits, queries = [], []
    for _ in range(20):
        t = time.perf_counter()
        learner.refit()
        refits.append(time.perf_counter() - t)
        t = time.perf_counter()
        learner.query(1)
        queries.append(time.perf_counter() - t)
    session.close()

    server = subprocess.Popen(
        [sys.executable, "-m", "skprepal", "label", str(source), "--text-column", "text",
         "--id-column", "id", "--labels", *classes, "--session", str(session_path),
         "--cache-dir", str(work / "cache"), "--port", "0", "--annotator", "bench"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        url = None
        while url is None:
            line = server.stdout.readline()
            if not line:
                raise SystemExit("skprepal label exited: " + server.stderr.read()[-2000:])
            found = re.search(r"(http://\S+/\?token=\S+)", line)
            url = found.group(1) if found else None
        base, token = url.split("/?token=")
        for _ in range(600):
            try:
                item = get(base, token, "/api/next")["item"]
                break
            except OSError:
                time.sleep(0.1)
        latencies = []
        for _ in range(n_answers):
            body = {"row": item["row"], "label": truth[item["row"]],
                    "request_id": uuid.uuid4().hex}
            t = time.perf_counter()
            reply = post(base, token, "/api/answer", body)
            latencies.append(time.perf_counter() - t)
            item = reply["item"]
    finally:
        server.terminate()
        server.wait(timeout=30)

    ms = sorted(x * 1e3 for x in latencies)
    p95 = ms[int(round(0.95 * (len(ms) - 1)))]
    median = statistics.median(ms)
    lines = [
        "# Labeling latency: answer to next item, through the real server",
        "",
        f"Command: `python {' '.join(sys.argv)}` · "
        f"skprepal {skprepal.__version__} · {cpu_description()}, "
        f"{args.threads} BLAS threads · load average at the end {os.getloadavg()[0]:.2f}.",
        "",
        f"Pool: {n_texts:,} texts"
        + (f" ({args.distinct:,} different ones, repeated)" if args.distinct else "")
        + " (SST-2 train, AG News, TREC-6, QNLI; the source as the label, "
        f"{len(classes)} classes), all-MiniLM-L6-v2 (384-d), embedded in {embed_seconds:.0f} s "
        f"(from the cache where it was filled before). Session with {n_labels:,} answers "
        f"(written in {prefill_seconds:.0f} s, one refit each), the session's default learner "
        f"(margin, LogisticRegression head, the pool scored on every CPU: n_jobs=-1, "
        f"{os.cpu_count()} here). The client answers as the page does, back to back: every "
        "answer's response carries the next item.",
        "",
        "| measure | milliseconds |",
        "|---|---:|",
        f"| answer -> next item over HTTP, median of {n_answers} | **{median:.1f}** |",
        f"| answer -> next item over HTTP, 95th percentile | **{p95:.1f}** |",
        f"| in-process refit of the head at {n_labels:,} labels, median of 20 | "
        f"{statistics.median(refits) * 1e3:.1f} |",
        f"| in-process query over the {n_texts:,}-row pool, median of 20 | "
        f"{statistics.median(queries) * 1e3:.1f} |",
        "",
        f"Goal: the next item within 150 ms of an answer: "
        f"{'met' if p95 <= 150 else ('met at the median' if median <= 150 else 'not met')}.",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"labeling_latency{'-quick' if args.quick else ''}.md").write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
