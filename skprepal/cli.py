"""The ``skprepal`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from skprepal.exceptions import SkprepalError

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported in one line (no usage block) and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _whole_number(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _test_size(text: str) -> float | int:
    """An argparse type: a share in (0, 1), or a whole number of rows."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if 0 < value < 1:
        return value
    if value > 1 and value == int(value):
        return int(value)
    raise argparse.ArgumentTypeError(
        f"expected a share between 0 and 1 or a whole number of rows above 1, got {text!r}"
    )


def _build_parser() -> argparse.ArgumentParser:
    from skprepal import __version__
    from skprepal._demo import DEMO_FINETUNE, DEMO_SETTINGS, _settings_text
    from skprepal._protocol import COMPARED_STRATEGIES
    from skprepal.embedding import DEFAULT_MODEL
    from skprepal.strategies import available_strategies

    parser = _Parser(
        prog="skprepal",
        description="Active learning for text classification on frozen pretrained embeddings.",
    )
    parser.add_argument("--version", action="version", version=f"skprepal {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="log what skprepal does (default: warnings and errors only)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="run the main job on the shipped sample data",
        description=f"The PRepAL protocol on the 1,740 shipped long-tail support tickets: "
        f"{DEMO_SETTINGS['test_size']} held out, strategies "
        f"{', '.join(DEMO_SETTINGS['strategies'])}, {DEMO_SETTINGS['seeds']} seeds, "
        f"{DEMO_SETTINGS['initial_size']} initial labels + {DEMO_SETTINGS['batch_size']} per "
        f"round up to {DEMO_SETTINGS['budget']}; then the head vs the model fine-tuned on the "
        f"same labels (TransferFineTuner's defaults with {_settings_text(DEMO_FINETUNE)}).",
    )
    demo.add_argument(
        "--model", default=DEFAULT_MODEL,
        help="hub id or folder of the encoder, also the model fine-tuned (default: %(default)s)",
    )
    demo.add_argument(
        "--cache-dir", default=None,
        help="embedding cache folder (default: a fresh temporary one, deleted after the run)",
    )
    demo.add_argument(
        "--out", default="skprepal-demo", help="folder for the plot (default: %(default)s)"
    )
    demo.add_argument(
        "--no-finetune", action="store_true",
        help="skip fine-tuning the final models (default: fine-tune them)",
    )
    simulate = commands.add_parser(
        "simulate", help="run the PRepAL protocol on your own labeled file (CSV, TSV, JSONL)",
        description="Embed every text once, simulate active learning with each strategy and seed "
        "(the file's labels play the annotator), score the head on a held-out share after every "
        "round, then fine-tune the model on the best strategy's labels and on random ones and "
        "report the head and the fine-tuned model side by side. Writes report.md, acquired.csv "
        "and learning_curves.png to --out. Every setting is checked before anything is embedded.",
    )
    _add_file_arguments(simulate, labels=True)
    simulate.add_argument(
        "--strategies", nargs="+", default=list(COMPARED_STRATEGIES), metavar="NAME",
        help=f"query strategies to compare, random being the baseline (default: "
        f"{' '.join(COMPARED_STRATEGIES)}); any of {', '.join(sorted(available_strategies()))}",
    )
    simulate.add_argument(
        "--seeds", type=_whole_number, default=3,
        help="runs of every strategy, each from other random initial labels (default: "
        "%(default)s)",
    )
    simulate.add_argument(
        "--initial-size", type=_whole_number, default=50,
        help="random labels before the first query (default: %(default)s)",
    )
    simulate.add_argument(
        "--batch-size", type=_whole_number, default=50,
        help="labels queried per round (default: %(default)s)",
    )
    simulate.add_argument(
        "--budget", type=_whole_number, default=500,
        help="labels per run, the initial ones included (default: %(default)s). It must fit in "
        "the rows left after the test share: the default 500 needs a file of at least 667 rows "
        "at --test-size 0.25",
    )
    simulate.add_argument(
        "--test-size", type=_test_size, default=0.25,
        help="rows held out (stratified) to score every round: a share below 1, or a number of "
        "rows (default: %(default)s)",
    )
    simulate.add_argument(
        "--finetune-epochs", type=float, default=3,
        help="epochs of each final fine-tune (default: %(default)s)",
    )
    simulate.add_argument(
        "--no-finetune", action="store_true",
        help="skip fine-tuning the final models (default: fine-tune them)",
    )
    simulate.add_argument(
        "--out", default="skprepal-simulation", help="output folder (default: %(default)s)"
    )
    embed = commands.add_parser(
        "embed", help="fill the embedding cache for the texts of a file",
        description="Embed the texts of a file into the cache of --cache-dir, so that later runs "
        "(simulate, a FrozenLLMTransformer with the same cache_dir and settings) take them from "
        "there. Says how many were embedded and how many were already cached.",
    )
    _add_file_arguments(embed, labels=False)
    _add_store_arguments(embed)
    _add_labeling_commands(commands)
    _add_label_studio_backend_command(commands)
    return parser


def _add_labeling_commands(commands: argparse._SubParsersAction) -> None:
    from skprepal.labeling import EXPORT_FORMATS

    label = commands.add_parser(
        "label",
        help="label the texts of a file in a local web page, a model in the loop",
        description="Serve a labeling page on this machine. Every answer is saved to the session "
        "file before the next item appears; run the same command again to resume.",
    )
    label.add_argument("file", help="a .csv, .tsv or .jsonl file with a header / keys")
    label.add_argument(
        "--format", choices=["csv", "tsv", "jsonl"], default=None,
        help="the file's format (default: from its suffix)",
    )
    label.add_argument(
        "--text-column", default="text", help="the column of texts (default: %(default)s)"
    )
    label.add_argument(
        "--labels", nargs="+", default=None, metavar="LABEL",
        help="the label set, in the order of keys 1-9 (required for a new session; a reopened "
        "session keeps its own)",
    )
    label.add_argument(
        "--session", default=None,
        help="the session file, reopened if it exists (default: FILE's name with "
        ".session.sqlite3, e.g. tickets.session.sqlite3 beside tickets.csv)",
    )
    label.add_argument(
        "--host", default="127.0.0.1",
        help="address to listen on (default: %(default)s, this machine only)",
    )
    label.add_argument(
        "--port", type=int, default=8765, help="port to listen on, 0 for a free one "
        "(default: %(default)s)",
    )
    label.add_argument(
        "--id-column", default=None,
        help="a column of unique item ids, kept in the session and its exports "
        "(default: none; ids are row numbers from 0)",
    )
    label.add_argument(
        "--model", default=None,
        help="hub id or folder of the encoder of a new session (default: the packaged "
        "all-MiniLM-L6-v2; a reopened session keeps its own)",
    )
    label.add_argument(
        "--cache-dir", default=None,
        help="embedding cache folder of a new session (default: SESSION.cache beside the "
        "session file)",
    )
    label.add_argument(
        "--annotator", default=None,
        help="name kept in the journal with each answer (default: none; a page can add "
        "&annotator=NAME to its address)",
    )
    export = commands.add_parser(
        "export", help="write a labeling session's labels to a CSV or JSON Lines file"
    )
    export.add_argument("session", help="the session file")
    export.add_argument("--out", required=True, help="the file to write")
    export.add_argument(
        "--format", choices=list(EXPORT_FORMATS), default=None,
        help="output format (default: jsonl for a .jsonl --out, csv otherwise)",
    )
    finetune = commands.add_parser(
        "finetune", help="fine-tune a model on a labeling session's labels and save it"
    )
    finetune.add_argument("session", help="the session file")
    finetune.add_argument("--out", required=True, help="folder to save the fine-tuned model to")
    finetune.add_argument(
        "--model", default=None,
        help="hub id or folder of the model to fine-tune (default: the session's encoder)",
    )
    finetune.add_argument(
        "--epochs", type=float, default=3,
        help="training epochs (default: %(default)s), raised where a small set would get fewer "
        "than 320 optimizer steps (TransferFineTuner's min_steps)",
    )


def _add_file_arguments(command: argparse.ArgumentParser, *, labels: bool) -> None:
    from skprepal.embedding import DEFAULT_MODEL

    command.add_argument("file", help="a .csv, .tsv or .jsonl file with a header / keys")
    command.add_argument(
        "--format", choices=["csv", "tsv", "jsonl"],
        help="the file's format (default: from its suffix)",
    )
    command.add_argument(
        "--text-column", nargs="+", default=["text"], metavar="COLUMN",
        help="one column, or two for text pairs (default: text)",
    )
    if labels:
        command.add_argument(
            "--label-column", default="label", help="the column of labels (default: %(default)s)"
        )
    command.add_argument(
        "--model", default=DEFAULT_MODEL,
        help="hub id or folder of the encoder (default: %(default)s)",
    )
    command.add_argument(
        "--cache-dir", default=".skprepal-cache",
        help="embedding cache folder (default: %(default)s)",
    )
    command.add_argument(
        "--pair-encoding", choices=["joint", "separate"], default="joint",
        help="text pairs: through the encoder together, or text by text as [u, v, |u-v|, u*v] "
        "(default: %(default)s)",
    )


def _simulate(args: argparse.Namespace) -> None:
    import csv
    import shlex
    from pathlib import Path

    from skprepal._io import read_table, text_and_labels
    from skprepal._protocol import markdown_table, run_protocol, versions

    texts, labels = text_and_labels(
        read_table(args.file, args.format), args.text_column, args.label_column, args.file
    )
    settings = {
        "strategies": args.strategies, "seeds": args.seeds, "initial_size": args.initial_size,
        "batch_size": args.batch_size, "budget": args.budget, "test_size": args.test_size,
    }
    out = Path(args.out)
    finetune = (
        None if args.no_finetune else {"epochs": args.finetune_epochs, "random_state": 0}
    )
    # run_protocol checks every setting against the data before it embeds anything.
    result = run_protocol(
        texts, labels, **settings, model=args.model, cache_dir=args.cache_dir,
        pair_encoding=args.pair_encoding, finetune=finetune, out_dir=out,
    )
    embedding, n_train = result.embedding, len(result.train_rows)
    recorded = [
        ["file", f"{args.file} ({len(labels)} rows, {len(set(labels))} classes)"],
        ["text column(s), label column", f"{', '.join(args.text_column)}; {args.label_column}"],
        ["model", args.model],
        ["pair encoding", args.pair_encoding if texts.ndim == 2 else "- (single texts)"],
        ["strategies", ", ".join(args.strategies)],
        ["seeds", str(args.seeds)],
        ["initial labels, batch size, budget",
         f"{args.initial_size}, {args.batch_size}, {args.budget}"],
        ["pool / test rows", f"{n_train} / {len(labels) - n_train} (stratified, --test-size "
                             f"{args.test_size})"],
        ["head", "LogisticRegression on the frozen embeddings (PRepALLearner's default)"],
        ["final fine-tune", "none (--no-finetune)" if finetune is None else ", ".join(
            f"{k}={v}" for k, v in finetune.items()) + " (other TransferFineTuner defaults)"],
        ["embedding cache", f"{args.cache_dir}: {embedding['n_embedded']} texts embedded, "
                            f"{embedding['n_cached']} from the cache"],
    ]
    command = "skprepal " + shlex.join(args.argv)
    report = [
        f"# skprepal simulate {args.file}",
        "",
        "## Learning curves",
        "",
        "Test accuracy of the head after each round, mean ± std over seeds:",
        "",
        result.curve_table(markdown=True),
    ]
    if result.final_scores:
        report += [
            "",
            "## Final model: the head or the fine-tuned model?",
            "",
            f"Test accuracy of the head and of `{args.model}` fine-tuned on the same labels "
            "(seed 0's):",
            "",
            result.final_table(markdown=True),
            "",
            result.final_verdict(),
        ]
    report += [
        "",
        "## Wall-clock per phase",
        "",
        result.timing_table(markdown=True),
        "",
        "## Settings",
        "",
        markdown_table(["setting", "value"], recorded),
        "",
        "## Versions",
        "",
        markdown_table(["package", "version"], list(versions().items())),
        "",
        "## Command",
        "",
        "```bash",
        command,
        "```",
    ]
    (out / "report.md").write_text("\n".join(report) + "\n", encoding="utf-8")
    with open(out / "acquired.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["strategy", "seed", "order", "row"])
        for (strategy, seed), rows in result.acquired.items():
            writer.writerows([strategy, seed, k, int(r)] for k, r in enumerate(rows))
    print("\nLearning curves (test accuracy of the head, mean ± std over seeds):\n")
    print(result.curve_table())
    if result.final_scores:
        print("\nFinal model: the head vs the fine-tuned model on the same labels:\n")
        print(result.final_table())
        print("\n" + result.final_verdict())
    print("\nWall-clock per phase:\n")
    print(result.timing_table())
    print(f"\nWrote {out / 'report.md'}, {out / 'acquired.csv'} (row numbers of data rows, from 0) "
          f"and {out / 'learning_curves.png'}")


def _add_store_arguments(embed: argparse.ArgumentParser) -> None:
    store = (
        "With --out, the vectors also go into an on-disk store in DIR (vectors.npy, ids.txt, "
        "meta.json: skprepal.embedding.EmbeddingStore.open(DIR)), chunk by chunk, resumable; "
        "--engine ray embeds on a Ray cluster (pip install 'skprepal[ray]'). A .parquet FILE is "
        "read by its suffix."
    )
    embed.description = f"{embed.description} {store}" if embed.description else store
    embed.add_argument(
        "--out", default=None, metavar="DIR",
        help="write an embedding store to DIR (default: none, only the cache is filled)",
    )
    embed.add_argument(
        "--engine", choices=["local", "ray"], default="local",
        help="with --out: embed in this process, or on a Ray cluster's actors (default: "
        "%(default)s)",
    )
    embed.add_argument(
        "--address", default=None,
        help="--engine ray: the cluster to join (default: $RAY_ADDRESS, else a local cluster)",
    )
    embed.add_argument(
        "--num-actors", type=_whole_number, default=None,
        help="--engine ray: encoders running at once (default: one per CPU of the cluster)",
    )
    embed.add_argument(
        "--id-column", default=None,
        help="with --out: a column of row ids kept in the store (default: row numbers from 0)",
    )
    embed.add_argument(
        "--dtype", choices=["float32", "float16"], default="float32",
        help="with --out: storage type of the vectors (default: %(default)s)",
    )
    embed.add_argument(
        "--chunk-size", type=_whole_number, default=10_000,
        help="with --out, --engine local: texts embedded and written at a time, the most a "
        "killed run loses (default: %(default)s)",
    )
    embed.add_argument(
        "--index", action="store_true",
        help="with --out: also build the store's vector index (DIR/index.faiss) for SEALS and "
        "AnchorAL (pip install 'skprepal[ann]') (default: off)",
    )
    embed.add_argument(
        "--neighbour-table", type=_whole_number, default=None, metavar="K",
        help="with --out: build the index and search every row's K nearest neighbours once, "
        "kept beside it, so that SEALS with n_neighbors <= K reads them instead of searching "
        "(one search per row: on 2 cores about 2 ms each) (default: none)",
    )


def _embed_store(args: argparse.Namespace) -> None:
    import time
    from pathlib import Path

    from skprepal._io import read_table, text_and_labels
    from skprepal.embedding import EmbeddingStore, FrozenLLMTransformer
    from skprepal.exceptions import InvalidInputError

    embedder = FrozenLLMTransformer(
        args.model, cache_dir=args.cache_dir, pair_encoding=args.pair_encoding, show_progress=True
    )
    start = time.perf_counter()
    if args.engine == "ray":
        from skprepal.integrations.ray import embed_with_ray

        try:
            import ray  # noqa: F401
        except ImportError:
            raise InvalidInputError(
                "--engine ray needs Ray Data: pip install 'skprepal[ray]'"
            ) from None
        store = embed_with_ray(
            args.file, args.out, text_column=args.text_column, id_column=args.id_column,
            format=args.format, embedder=embedder, address=args.address,
            num_actors=args.num_actors, dtype=args.dtype, chunk_size=args.chunk_size,
        )
    else:
        if Path(args.file).suffix.lower() == ".parquet" and args.format is None:
            import pandas as pd

            rows = pd.read_parquet(args.file).to_dict("records")
        else:
            rows = read_table(args.file, args.format)
        texts, _ = text_and_labels(rows, args.text_column, None, args.file)
        ids = None
        if args.id_column is not None:
            if args.id_column not in rows[0]:
                raise InvalidInputError(
                    f"{args.file} has no column {args.id_column!r}; its columns are "
                    f"{', '.join(map(repr, rows[0]))}."
                )
            ids = [row[args.id_column] for row in rows]
        store = EmbeddingStore.build(
            args.out, texts, embedder=embedder, ids=ids, dtype=args.dtype,
            chunk_size=args.chunk_size,
        )
    if args.index or args.neighbour_table is not None:
        index = store.vector_index(neighbour_table=args.neighbour_table)
        print(f"vector index: {index!r} in {store.directory}")
    n, dim = store.vectors.shape
    print(f"{n} rows -> {store.directory} ({n} x {dim} {store.vectors.dtype}, "
          f"{store.vectors.nbytes / 2**20:.1f} MiB) in {time.perf_counter() - start:.1f} s "
          f"({args.engine}); the cache at {args.cache_dir} holds them too. "
          f"Open it with EmbeddingStore.open({str(store.directory)!r}).")


def _embed(args: argparse.Namespace) -> None:
    import time

    from skprepal._io import read_table, text_and_labels
    from skprepal.embedding import EmbeddingCache, FrozenLLMTransformer
    from skprepal.exceptions import InvalidInputError

    wants_index = args.index or args.neighbour_table is not None
    if wants_index and args.out is None:
        raise InvalidInputError("--index and --neighbour-table index a store: give --out DIR.")
    if wants_index:
        from skprepal.strategies._index import _faiss

        _faiss()  # before anything is embedded: says what to install
    if args.out is not None:
        _embed_store(args)
        return
    if args.engine != "local":
        raise InvalidInputError(f"--engine {args.engine} writes a store: give --out DIR.")
    texts, _ = text_and_labels(
        read_table(args.file, args.format), args.text_column, None, args.file
    )
    start = time.perf_counter()
    embedder = FrozenLLMTransformer(
        args.model, cache_dir=args.cache_dir, pair_encoding=args.pair_encoding, show_progress=True
    )
    vectors = embedder.fit_transform(texts)
    with EmbeddingCache(args.cache_dir) as cache:
        size = len(cache)
    what = "texts" if texts.ndim == 1 else "pairs"
    print(f"{len(texts)} {what} -> {vectors.shape[1]}-d vectors "
          f"in {time.perf_counter() - start:.1f} s: {embedder.n_embedded_} texts embedded now, "
          f"{embedder.n_cached_} taken from the cache; "
          f"the cache at {args.cache_dir} holds {size} embeddings")


def _add_label_studio_backend_command(commands: argparse._SubParsersAction) -> None:
    backend = commands.add_parser(
        "label-studio-backend",
        help="serve a labeling session to Label Studio as its ML backend",
        description="Label Studio's ML backend protocol over a session file: predictions with "
        "skprepal's suggestions (score = confidence: sort ascending for the least certain "
        "first), and every annotation journaled in the session. Connect it in the project's "
        "Settings -> Model with the URL this prints. With basic auth, also add the "
        "Authorization header to the project's webhook to this backend (Label Studio adds "
        "none); see docs/integrations.rst.",
    )
    backend.add_argument("--session", required=True, help="the session file (it must exist)")
    backend.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    backend.add_argument(
        "--port", type=int, default=9090, help="port to listen on (default: %(default)s)"
    )
    backend.add_argument(
        "--basic-auth-user", default=None,
        help="require HTTP basic auth with this user (default: $BASIC_AUTH_USER, else none)",
    )
    backend.add_argument(
        "--basic-auth-pass", default=None,
        help="... and this password (default: $BASIC_AUTH_PASS)",
    )


def _label_studio_backend(args: argparse.Namespace) -> None:
    import os
    from pathlib import Path

    from skprepal.exceptions import InvalidInputError
    from skprepal.labeling._cli import require_web_packages

    require_web_packages("skprepal label-studio-backend")
    if not Path(args.session).is_file():
        raise InvalidInputError(
            f"no session file at {args.session!r}; make one with `skprepal label FILE --labels "
            "...` or LabelingSession.create(path, texts, labels)."
        )
    from skprepal.labeling import serve_label_studio_backend

    user = args.basic_auth_user or os.environ.get("BASIC_AUTH_USER")
    password = args.basic_auth_pass or os.environ.get("BASIC_AUTH_PASS")
    if bool(user) != bool(password):
        raise InvalidInputError("give both --basic-auth-user and --basic-auth-pass, or neither.")
    print(f"Label Studio ML backend for {args.session} at http://{args.host}:{args.port} "
          f"(basic auth: {'on' if user else 'off'}); Ctrl-C stops it.", flush=True)
    serve_label_studio_backend(
        args.session, host=args.host, port=args.port, basic_auth_user=user,
        basic_auth_pass=password,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success, 1 on an error skprepal explains in one line.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _build_parser().parse_args(argv)
    args.argv = argv  # the command as given, for the records a command writes
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        if args.command == "demo":
            from skprepal._demo import run_demo

            run_demo(
                model=args.model, cache_dir=args.cache_dir, out_dir=args.out,
                finetune=not args.no_finetune,
            )
        elif args.command == "simulate":
            _simulate(args)
        elif args.command == "embed":
            _embed(args)
        elif args.command == "label-studio-backend":
            _label_studio_backend(args)
        elif args.command in ("label", "export", "finetune"):
            from skprepal.labeling import _cli

            getattr(_cli, f"run_{args.command}")(args)
    except SkprepalError as exc:
        print(f"skprepal: error: {exc}", file=sys.stderr)
        return 1
    return 0
