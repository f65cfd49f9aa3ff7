"""The command line and the demo it runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

import skprepal
from skprepal.cli import main


def test_version_flag():
    out = subprocess.run(
        [sys.executable, "-m", "skprepal", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"skprepal {skprepal.__version__}"


def test_demo_embeds_twice_and_reports_the_cache(tiny_bert, capsys):
    assert main(["demo", "--model", str(tiny_bert)]) == 0
    out = capsys.readouterr().out
    assert "670 support tickets, 5 classes" in out
    for phase in ("load model", "embed (cold)", "embed again (cache)"):
        assert phase in out
    assert "5-fold accuracy" in out


def test_demo_measurements_are_consistent(tiny_bert):
    from skprepal._demo import run_demo

    lines = []
    result = run_demo(model=str(tiny_bert), echo=lines.append)
    assert result["warm"] < result["cold"]
    assert 0.0 <= result["accuracy"] <= 1.0


def test_a_bad_model_is_one_clear_line(tmp_path, capsys):
    assert main(["demo", "--model", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skprepal: error:") and "no such folder" in err[0]


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit) as exit_info:
        main(["fly"])
    assert exit_info.value.code == 2
