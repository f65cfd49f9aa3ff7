"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_quickstart_runs(tmp_path, monkeypatch, capsys, packaged_minilm):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert blocks, "the README has no python quickstart"
    quickstart = blocks[0]
    assert len(quickstart.strip().splitlines()) <= 10
    monkeypatch.chdir(tmp_path)
    exec(compile(quickstart, str(README), "exec"), {})
    accuracy = float(capsys.readouterr().out.strip().rsplit(" ", 1)[-1])
    assert accuracy > 0.7
    assert (tmp_path / ".skprepal-cache" / "embeddings.sqlite3").is_file()
