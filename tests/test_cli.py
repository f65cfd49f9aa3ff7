"""The command line, the demo it runs, and its error messages."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

import skprepal
from skprepal.cli import main
from skprepal.datasets import load_sample_texts


def test_version_flag():
    out = subprocess.run(
        [sys.executable, "-m", "skprepal", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"skprepal {skprepal.__version__}"


def test_demo_runs_the_whole_protocol(tiny_bert, tmp_path, capsys):
    assert main(["demo", "--model", str(tiny_bert), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1740 support tickets, 12 classes" in out
    for strategy in ("random", "entropy", "margin", "badge"):
        assert strategy in out
    for phase in ("embedding (once)", "AL head fits", "AL queries", "fine-tuning (final models)"):
        assert phase in out
    assert "(acquired)" in out and "test accuracy" in out
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000
    assert str(tmp_path / "learning_curves.png") in out


def test_demo_result_is_consistent(tiny_bert, tmp_path):
    from skprepal._demo import run_demo

    result = run_demo(
        model=str(tiny_bert), out_dir=tmp_path, finetune=False, echo=lambda line: None
    )
    assert list(result.budgets) == list(range(25, 201, 25))
    assert set(result.curves) == {"random", "entropy", "margin", "badge"}
    assert all(curve.shape == (3, 8) for curve in result.curves.values())
    assert all(len(rows) == 200 and len(set(rows)) == 200 for rows in result.acquired.values())
    assert result.best_strategy != "random" and not result.final_scores


@pytest.fixture
def tickets_file(tmp_path):
    X, y = load_sample_texts(return_X_y=True)
    path = tmp_path / "tickets.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "body", "topic"])
        writer.writerows(
            [i, text, label]
            for i, (text, label) in enumerate(zip(X[:300], y[:300], strict=True))
        )
    return path


def test_simulate_writes_tables_indices_and_plot(tiny_bert, tickets_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = main([
        "simulate", str(tickets_file), "--text-column", "body", "--label-column", "topic",
        "--model", str(tiny_bert), "--cache-dir", str(tmp_path / "cache"), "--strategies", "random",
        "margin", "--seeds", "2", "--initial-size", "20", "--batch-size", "20", "--budget", "100",
        "--no-finetune", "--out", str(out),
    ])
    assert code == 0
    report = (out / "report.md").read_text()
    assert "random" in report and "margin" in report and "AL queries" in report
    with open(out / "acquired.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 * 100
    assert {r["strategy"] for r in rows} == {"random", "margin"}
    assert all(0 <= int(r["row"]) < 300 for r in rows)
    assert (out / "learning_curves.png").is_file()
    assert "Wrote" in capsys.readouterr().out


def test_embed_fills_the_cache_for_jsonl_pairs(tiny_bert, tmp_path, capsys):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(json.dumps({"q": f"question {i}", "s": f"sentence {i}"}) for i in range(12))
    )
    cache = tmp_path / "cache"
    assert main(["embed", str(path), "--text-column", "q", "s", "--model", str(tiny_bert),
                 "--cache-dir", str(cache)]) == 0
    assert "12 texts" in capsys.readouterr().out
    from skprepal.embedding import EmbeddingCache

    with EmbeddingCache(cache) as stored:
        assert len(stored) == 12
    # Separately, each of the 24 texts is an entry of its own, and the vectors are 4 x 32-d.
    assert main(["embed", str(path), "--text-column", "q", "s", "--model", str(tiny_bert),
                 "--cache-dir", str(cache), "--pair-encoding", "separate"]) == 0
    assert "128-d vectors" in capsys.readouterr().out
    with EmbeddingCache(cache) as stored:
        assert len(stored) == 12 + 24


@pytest.mark.parametrize(
    "content, args, message",
    [
        (None, [], "no such file"),
        ("text,label\nhello,a\n,b\n", [], "empty text or label, the first is data row 2"),
        (
            "text,label\nhello,a\n",
            ["--label-column", "topic"],
            "no column 'topic'; its columns are 'text', 'label'",
        ),
        ("text,label\n", [], "no data rows"),
        ("{not json\n", ["--format", "jsonl"], "line 1: not valid JSON"),
    ],
)
def test_bad_files_get_one_clear_line(tmp_path, capsys, content, args, message):
    path = tmp_path / "data.csv"
    if content is not None:
        path.write_text(content)
    assert main(["simulate", str(path), *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("skprepal: error:") and message in err[0]


def test_unknown_suffix_and_bad_model(tmp_path, capsys):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    assert main(["embed", str(path)]) == 1
    assert "use .csv, .tsv or .jsonl" in capsys.readouterr().err
    assert main(["demo", "--model", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such folder" in err[0]


def test_unknown_command_exits_with_usage():
    with pytest.raises(SystemExit) as exit_info:
        main(["fly"])
    assert exit_info.value.code == 2
