"""The README's code runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_python_blocks_run_in_order(tmp_path, monkeypatch, capsys, packaged_minilm):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2, "the README lost its quickstart or its fine-tuning example"
    assert len(blocks[0].strip().splitlines()) <= 10, "the quickstart must stay within 10 lines"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], f"{README}:quickstart", "exec"), namespace)
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("200 labels")
    assert float(printed.rsplit(" ", 1)[-1]) > 0.7
    assert (tmp_path / ".skprepal-cache" / "embeddings.sqlite3").is_file()
    for i, block in enumerate(blocks[1:], start=2):
        exec(compile(block, f"{README}:block{i}", "exec"), namespace)
    assert (tmp_path / "tickets-model" / "config.json").is_file()
