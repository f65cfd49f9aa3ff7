"""The command line, the demo it runs, and its error messages."""

from __future__ import annotations

import argparse
import csv
import json
import re
import shlex
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
    for strategy in ("random", "entropy", "margin", "class_balanced_margin", "badge"):
        assert strategy in out
    for phase in ("embedding (once)", "AL head fits", "AL queries", "fine-tuning (final models)"):
        assert phase in out
    assert "embedded 1740 texts once in" in out and "from the cache" not in out
    # The final models: the head and the fine-tuned model on the same labels, and which to keep.
    final = out.split("Final model:")[1]
    assert "head (frozen embeddings)" in final and "fine-tuned model" in final
    assert re.search(r"^\S+ \(acquired\)\s+200\s+0\.\d{3}\s+0\.\d{3}\s+(head|fine-tuned|tie)$",
                     out, re.M), out
    assert re.search(r"^random\s+200\s+0\.\d{3}\s+0\.\d{3}\s+(head|fine-tuned|tie)$", out, re.M)
    assert "keep the " in out and "defaults with max_length=64, random_state=0" in out
    assert (tmp_path / "learning_curves.png").stat().st_size > 10_000
    assert str(tmp_path / "learning_curves.png") in out


def test_demo_result_is_consistent(tiny_bert, tmp_path):
    from skprepal._demo import run_demo

    result = run_demo(
        model=str(tiny_bert), out_dir=tmp_path, finetune=False, echo=lambda line: None
    )
    assert list(result.budgets) == list(range(25, 201, 25))
    assert set(result.curves) == {"random", "entropy", "margin", "class_balanced_margin", "badge"}
    assert all(curve.shape == (3, 8) for curve in result.curves.values())
    assert all(len(rows) == 200 and len(set(rows)) == 200 for rows in result.acquired.values())
    assert result.best_strategy != "random" and not result.final_scores
    assert not result.head_scores and result.embedding == {
        "n_texts": 1740, "n_embedded": 1740, "n_cached": 0
    }


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


def _simulate_args(tickets_file, tiny_bert, tmp_path, *extra):
    return [
        "simulate", str(tickets_file), "--text-column", "body", "--label-column", "topic",
        "--model", str(tiny_bert), "--cache-dir", str(tmp_path / "cache"), *extra,
    ]


def _markdown_tables(text):
    """Every pipe table of a Markdown text: lists of rows, each a list of cells."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            current.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif current:
            tables.append(current)
            current = []
    return tables


def test_simulate_writes_tables_indices_and_plot(tiny_bert, tickets_file, tmp_path, capsys):
    out = tmp_path / "out"
    args = _simulate_args(
        tickets_file, tiny_bert, tmp_path, "--strategies", "random", "margin", "--seeds", "2",
        "--initial-size", "20", "--batch-size", "20", "--budget", "100", "--no-finetune",
        "--out", str(out),
    )
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "embedded 300 texts once in" in printed and "from the cache" not in printed
    report = (out / "report.md").read_text()
    # Real Markdown: pipe tables whose rows all have the header's cells, after a separator row.
    tables = _markdown_tables(report)
    assert len(tables) == 4  # curves, timings, settings, versions (no fine-tune)
    for table in tables:
        assert all(len(row) == len(table[0]) for row in table)
        assert set(table[1]) <= {"---", "---:"}
    curves, timings, settings, versions = tables
    assert curves[0] == ["labels", "random", "margin"]
    assert [row[0] for row in curves[2:]] == ["20", "40", "60", "80", "100"]
    assert [row[0] for row in timings[2:]] == [
        "embedding (once)", "AL head fits", "AL queries", "total"
    ]
    recorded = dict(row for row in settings[2:])
    assert recorded["strategies"] == "random, margin" and recorded["seeds"] == "2"
    assert recorded["initial labels, batch size, budget"] == "20, 20, 100"
    assert recorded["pool / test rows"].startswith("225 / 75")
    assert recorded["model"] == str(tiny_bert)
    assert recorded["final fine-tune"] == "none (--no-finetune)"
    assert "300 texts embedded, 0 from the cache" in recorded["embedding cache"]
    packages = dict(row for row in versions[2:])
    assert packages["skprepal"] == skprepal.__version__
    assert {"python", "numpy", "scikit-learn", "torch", "transformers"} <= set(packages)
    assert "```bash\nskprepal " + shlex.join(args) + "\n```" in report
    with open(out / "acquired.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 * 2 * 100
    assert {r["strategy"] for r in rows} == {"random", "margin"}
    assert all(0 <= int(r["row"]) < 300 for r in rows)
    assert (out / "learning_curves.png").is_file()
    assert "Wrote" in printed
    # Again on the same cache: every vector comes from there, and the line says so.
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "took the embeddings of all 300 texts from the cache" in printed
    assert "embedded 300 texts" not in printed
    assert "0 texts embedded, 300 from the cache" in (out / "report.md").read_text()


def test_simulate_reports_the_head_and_the_fine_tuned_model(
    tiny_bert, tickets_file, tmp_path, capsys
):
    out = tmp_path / "out"
    args = _simulate_args(
        tickets_file, tiny_bert, tmp_path, "--strategies", "random", "margin", "--seeds", "1",
        "--initial-size", "20", "--batch-size", "20", "--budget", "60", "--finetune-epochs", "1",
        "--out", str(out),
    )
    assert main(args) == 0
    printed = capsys.readouterr().out
    report = (out / "report.md").read_text()
    final = _markdown_tables(report)[1]
    assert final[0] == ["labels", "n", "head (frozen embeddings)", "fine-tuned model", "better"]
    assert [row[:2] for row in final[2:]] == [["margin (acquired)", "60"], ["random", "60"]]
    curves = _markdown_tables(report)[0]
    for row, column in zip(final[2:], (2, 1), strict=True):
        head, tuned = float(row[2]), float(row[3])
        # The head's score is the learning curve's last point of seed 0 (one seed: std 0).
        assert curves[-1][column] == f"{head:.3f} ± 0.000"
        assert row[4] == ("fine-tuned" if tuned > head else "head" if head > tuned else "tie")
    assert "keep the" in report.split("## Final model")[1].split("##")[0]
    recorded = dict(row for row in _markdown_tables(report)[3][2:])
    assert recorded["final fine-tune"].startswith("epochs=1.0, random_state=0")
    assert "Final model: the head vs the fine-tuned model" in printed
    assert "(the head on the same labels: " in printed


def _run(argv):
    """main's exit status, whether it returns one or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.mark.parametrize(
    "extra, status, message",
    [
        (["--seeds", "0"], 2, "argument --seeds: must be at least 1, got 0"),
        (["--seeds", "three"], 2, "argument --seeds: expected a whole number, got 'three'"),
        (["--batch-size", "-5"], 2, "argument --batch-size: must be at least 1, got -5"),
        (["--initial-size", "0"], 2, "argument --initial-size: must be at least 1, got 0"),
        (["--budget", "2.5"], 2, "argument --budget: expected a whole number, got '2.5'"),
        (["--test-size", "0"], 2, "argument --test-size: expected a share between 0 and 1"),
        (["--test-size", "1"], 2, "argument --test-size: expected a share between 0 and 1"),
        (["--test-size", "12.5"], 2, "or a whole number of rows above 1, got '12.5'"),
        (["--pair-encoding", "both"], 2, "argument --pair-encoding: invalid choice: 'both'"),
        (["--strategies", "entropi"], 1, "unknown strategy 'entropi' in --strategies; choose "
         "from "),
        (["--strategies", "entropi"], 1, "Did you mean 'entropy'?"),
        (["--strategies", "margin", "margin"], 1, "--strategies names 'margin' more than once"),
        (["--budget", "40", "--initial-size", "50"], 1, "the budget (40, --budget) is below "
         "the initial labels (50, --initial-size)"),
        # The default budget of 500 on a 300-row file.
        ([], 1, "the budget of 500 labels (--budget) exceeds the 225 training rows left after "
         "holding out 75 of 300 for testing (--test-size); lower the budget to at most 225"),
        (["--test-size", "299"], 1, "cannot hold out a stratified test set"),
        (["--test-size", "300"], 1, "--test-size 300 is neither a share in (0, 1) nor a whole "
         "number of rows between 1 and 299"),
    ],
)
def test_bad_settings_get_one_line_before_anything_is_embedded(
    tiny_bert, tickets_file, tmp_path, capsys, monkeypatch, extra, status, message
):
    from skprepal import FrozenLLMTransformer

    def no_embedding(*args, **kwargs):
        raise AssertionError("the settings must be checked before anything is embedded")

    monkeypatch.setattr(FrozenLLMTransformer, "fit", no_embedding)
    monkeypatch.setattr(FrozenLLMTransformer, "fit_transform", no_embedding)
    assert _run(_simulate_args(tickets_file, tiny_bert, tmp_path, *extra)) == status
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, captured.err
    assert err[0].startswith(("skprepal: error:", "skprepal simulate: error:"))
    assert message in err[0]
    assert "Traceback" not in captured.err and captured.out == ""


def test_every_option_says_what_it_does_and_its_default():
    from skprepal.cli import _build_parser

    parser = _build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("demo", "simulate", "embed"):
        command = commands.choices[name]
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or not action.option_strings:
                continue
            assert action.help, f"{name} {action.option_strings[0]} has no help"
            assert "(default: " in action.help, f"{name} {action.option_strings[0]}"
        text = command.format_help()
        assert "%(default)s" not in text
    simulate = commands.choices["simulate"].format_help()
    assert "(default: 500)" in " ".join(simulate.split())
    assert "at least 667 rows at --test-size 0.25" in " ".join(simulate.split())


def test_embed_fills_the_cache_for_jsonl_pairs(tiny_bert, tmp_path, capsys):
    path = tmp_path / "pairs.jsonl"
    path.write_text(
        "\n".join(json.dumps({"q": f"question {i}", "s": f"sentence {i}"}) for i in range(12))
    )
    cache = tmp_path / "cache"
    args = ["embed", str(path), "--text-column", "q", "s", "--model", str(tiny_bert),
            "--cache-dir", str(cache)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "12 pairs -> 32-d vectors" in printed
    assert "12 texts embedded now, 0 taken from the cache" in printed
    assert main(args) == 0  # again: all from the cache
    assert "0 texts embedded now, 12 taken from the cache" in capsys.readouterr().out
    from skprepal.embedding import EmbeddingCache

    with EmbeddingCache(cache) as stored:
        assert len(stored) == 12
    # Separately, each of the 24 texts is an entry of its own, and the vectors are 4 x 32-d.
    assert main(["embed", str(path), "--text-column", "q", "s", "--model", str(tiny_bert),
                 "--cache-dir", str(cache), "--pair-encoding", "separate"]) == 0
    printed = capsys.readouterr().out
    assert "128-d vectors" in printed and "24 texts embedded now, 0 taken" in printed
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
