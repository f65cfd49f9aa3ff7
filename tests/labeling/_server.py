"""Helpers for the labeling tests: a small ticket file, and `skprepal label` as a real server."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

TOPICS = {
    "billing": ["refund", "invoice", "charged", "card", "payment"],
    "login": ["password", "login", "locked", "account", "reset"],
    "bug": ["crash", "error", "broken", "freeze", "bug"],
}
#: Markup in every text: the page must show it literally, never run or render it.
MARKUP = '<b class="x">{word}</b> <script>window.__skprepal_xss = 1</script> &amp; <i>ok</i>'


def ticket_texts(n: int = 90, seed: int = 0, *, markup: bool = False) -> tuple[list, list]:
    """``n`` texts of three topics and their true labels."""
    rng = np.random.RandomState(seed)
    names = list(TOPICS)
    truth = [names[i % 3] for i in range(n)]
    texts = []
    for i, topic in enumerate(truth):
        words = " ".join(rng.choice(TOPICS[topic], 3))
        text = f"{words} please help with ticket {i}"
        if markup:
            text += " " + MARKUP.format(word=rng.choice(TOPICS[topic]))
        texts.append(text)
    return texts, truth


def write_tickets(path: Path, n: int = 90, *, markup: bool = False) -> dict[str, str]:
    """A CSV with columns ``key, body``; returns key -> true label."""
    texts, truth = ticket_texts(n, markup=markup)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["key", "body"])
        writer.writerows([f"T{i:03d}", text] for i, text in enumerate(texts))
    return {f"T{i:03d}": label for i, label in enumerate(truth)}


def _decode(response):
    body = response.read()
    if response.headers.get("Content-Type", "").startswith("application/json"):
        return json.loads(body)
    return body.decode("utf-8")


class LabelServer:
    """``python -m skprepal label ...`` in a child process, on a free port of 127.0.0.1."""

    def __init__(self, args: list[str], *, timeout: float = 180.0) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "skprepal", "label", *args, "--port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._drain, args=(self.process.stderr, self.errors),
                         daemon=True).start()
        deadline = time.monotonic() + timeout
        self.url = None
        while self.url is None:
            line = self.process.stdout.readline()
            if not line:
                self.process.wait(timeout=30)
                raise RuntimeError(
                    f"skprepal label exited with {self.process.returncode}: "
                    + "".join(self.errors[-20:])
                )
            self.lines.append(line)
            found = re.search(r"(http://\S+/\?token=\S+)", line)
            if found:
                self.url = found.group(1)
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("skprepal label did not print its address in time")
        threading.Thread(target=self._drain, args=(self.process.stdout, self.lines),
                         daemon=True).start()
        self.base, self.token = self.url.split("/?token=")
        self._wait_until_up(deadline)

    @staticmethod
    def _drain(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def _wait_until_up(self, deadline: float) -> None:
        while True:
            try:
                self.get("/api/progress")
                return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.1)

    def request(self, method: str, path: str, body=None, *, token: str | None = "") -> tuple:
        """``(status, json)``; token "" sends the right one, None none."""
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Skprepal-Token"] = token or self.token
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _decode(response)
        except urllib.error.HTTPError as exc:
            return exc.code, _decode(exc)

    def get(self, path: str, **kwargs) -> dict:
        status, data = self.request("GET", path, **kwargs)
        assert status == 200, (status, data)
        return data

    def post(self, path: str, body: dict, **kwargs) -> dict:
        status, data = self.request("POST", path, body, **kwargs)
        assert status == 200, (status, data)
        return data

    def stop(self) -> int:
        """Ctrl-C, as a person stops it; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def __enter__(self) -> LabelServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
