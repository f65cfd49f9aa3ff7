"""GPU embedding throughput: skprepal and sentence-transformers at fp32, fp16 and bf16 (issue 17).

One short prepared run for a machine with a CUDA GPU (the device tool's machine, when a task is
lent one): the packaged all-MiniLM-L6-v2 on SST-2 dev (short texts) and an IMDb test subset
(long), each library at each precision, best of ``--repeats`` rotated runs, with the cosine of
every setting to skprepal fp32 and which precision ``"auto"`` picks on this GPU.

- skprepal: ``FrozenLLMTransformer(precision=p, device="cuda")`` (bf16/fp16 under autocast).
- sentence-transformers: ``SentenceTransformer(..., device="cuda", model_kwargs={"torch_dtype":
  dtype})`` (weights cast to fp16/bf16, as its documentation recommends for GPUs).

Usage (a few minutes on any recent GPU; needs ../shared/data or the built-in fallback texts)::

    python benchmarks/gpu_embedding.py --out results/gpu_embedding.md

Prints a Markdown table and writes it to ``--out`` (default benchmarks/results/gpu_embedding.md).
Not run on a machine without CUDA: it says so and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).resolve().parent / "results"
PRECISIONS = ("fp32", "fp16", "bf16")


def _texts(n_short: int, n_long: int) -> dict[str, list[str]]:
    try:
        from skprepal.datasets import load_imdb, load_sst2

        rng = np.random.default_rng(0)
        sst = load_sst2("dev").data
        imdb = load_imdb("test").data
        return {
            "SST-2 dev": [str(t) for t in sst[: min(n_short, len(sst))]],
            "IMDb test": [str(t) for t in imdb[rng.choice(len(imdb), n_long, replace=False)]],
        }
    except Exception as exc:  # data absent on the device machine: synthetic texts of both kinds
        print(f"benchmark data not found ({exc}); using synthetic texts", file=sys.stderr)
        words = "the a film plot acting refund login great terrible very good bad".split()
        rng = np.random.default_rng(0)
        return {
            "short (synthetic)": [" ".join(rng.choice(words, 12)) for _ in range(n_short)],
            "long (synthetic)": [" ".join(rng.choice(words, 300)) for _ in range(n_long)],
        }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", type=int, default=872)
    parser.add_argument("--long", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--out", type=Path, default=RESULTS / "gpu_embedding.md")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("no CUDA GPU here: nothing measured.")
        return 0

    from sentence_transformers import SentenceTransformer

    import skprepal
    from skprepal import FrozenLLMTransformer
    from skprepal._hf import auto_precision, detect_hardware

    hardware = detect_hardware("cuda")
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    runners = {}
    for p in PRECISIONS:
        ours = FrozenLLMTransformer(
            precision=p, device="cuda", normalize=True, batch_size=args.batch_size,
            max_length=args.max_length, show_progress=False,
        ).fit(["warm up"])
        runners[f"skprepal {p}"] = ours.transform
        st = SentenceTransformer(
            ours.model_path_, device="cuda", model_kwargs={"dtype": dtypes[p]}
        )
        st.max_seq_length = args.max_length
        runners[f"sentence-transformers {p}"] = lambda t, st=st: st.encode(
            t, batch_size=args.batch_size, show_progress_bar=False, convert_to_numpy=True
        )
    auto = FrozenLLMTransformer(device="cuda").fit(["x"]).precision_
    for fn in runners.values():
        fn(["warm up the kernels"] * 8)

    lines = [
        "# GPU embedding throughput: skprepal vs sentence-transformers",
        "",
        f"Command: `python benchmarks/gpu_embedding.py {' '.join(sys.argv[1:])}` · skprepal "
        f"{skprepal.__version__} · torch {torch.__version__} · GPU: {hardware.describe()} · "
        f"batch size {args.batch_size}, max_length {args.max_length}, best of {args.repeats}. "
        f"`precision=\"auto\"` here: **{auto}** ({auto_precision(hardware)[1]}).",
    ]
    names = list(runners)
    for data, texts in _texts(args.short, args.long).items():
        best = dict.fromkeys(names, float("inf"))
        outputs = {}
        for rep in range(args.repeats):
            for name in names[rep % len(names) :] + names[: rep % len(names)]:
                torch.cuda.synchronize()
                start = time.perf_counter()
                out = runners[name](texts)
                torch.cuda.synchronize()
                best[name] = min(best[name], time.perf_counter() - start)
                outputs[name] = np.asarray(out, dtype=np.float32)
        ref = outputs["skprepal fp32"]
        st_fp32 = best["sentence-transformers fp32"]
        lines += [
            "",
            f"### {data}: {len(texts):,} texts",
            "",
            "| setting | texts/s | vs sentence-transformers fp32 | cosine to fp32 (mean / min) |",
            "|---|---:|---:|---:|",
        ]
        for name in names:
            out = outputs[name]
            cos = (out * ref).sum(1) / (np.linalg.norm(out, axis=1) * np.linalg.norm(ref, axis=1))
            lines.append(
                f"| {name} | {len(texts) / best[name]:.0f} | {st_fp32 / best[name]:.2f}x | "
                f"{cos.mean():.5f} / {cos.min():.5f} |"
            )
    report = "\n".join(lines) + "\n"
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
