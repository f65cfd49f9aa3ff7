"""sentence-transformers' torch and ONNX Runtime backends, timed in their own environment.

Run by ``benchmarks/embedding.py`` with the Python of a separate virtual environment
(``.venv-onnx``): sentence-transformers' ONNX backend needs ``optimum-onnx``, which pins
transformers < 5, while skprepal's environment has transformers 5. Not meant to be run by hand.

Reads a JSON job (model folder, data sets, batch size, max_length, threads, repeats), exports the
model to ONNX fp32 and to ONNX dynamic int8 (the quantization config matching this CPU's flags),
times ``encode`` for torch fp32, ONNX fp32 and ONNX int8 on every data set (best of ``repeats``
alternating runs), and writes the timings and the vectors (``.npy``) to the output folder.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _quantization_config(flags: set[str]) -> str:
    """sentence-transformers' name of the dynamic int8 config this CPU runs best."""
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags:
        return "avx2"
    return "arm64"


def main() -> int:
    job = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    import numpy as np
    import onnxruntime
    import sentence_transformers
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer, export_dynamic_quantized_onnx_model

    torch.set_num_threads(job["threads"])
    flags = set(job["cpu_flags"])
    config = _quantization_config(flags)
    work = Path(tempfile.mkdtemp(prefix="st-onnx-"))
    try:
        # The exports go to a folder of their own, never into the installed package.
        folder = Path(job["model"])
        exported = work / "onnx-model"
        started = time.perf_counter()
        onnx_fp32 = SentenceTransformer(
            str(folder), device="cpu", backend="onnx",
            model_kwargs={"provider": "CPUExecutionProvider"},
        )
        onnx_fp32.save_pretrained(str(exported))  # onnx/model.onnx and the ST modules
        export_fp32 = time.perf_counter() - started
        started = time.perf_counter()
        export_dynamic_quantized_onnx_model(onnx_fp32, config, str(exported))
        export_int8 = time.perf_counter() - started
        # q(u)int8 by config: avx2's weights are unsigned, the others' signed.
        (int8_path,) = (exported / "onnx").glob(f"model_q*int8_{config}.onnx")
        int8_file = f"onnx/{int8_path.name}"
        models = {
            "st-torch-fp32": SentenceTransformer(str(folder), device="cpu"),
            "st-onnx-fp32": SentenceTransformer(
                str(exported), device="cpu", backend="onnx",
                model_kwargs={"provider": "CPUExecutionProvider", "file_name": "onnx/model.onnx"},
            ),
            "st-onnx-int8": SentenceTransformer(
                str(exported), device="cpu", backend="onnx",
                model_kwargs={"provider": "CPUExecutionProvider", "file_name": int8_file},
            ),
        }
        for model in models.values():
            model.max_seq_length = job["max_length"]
            model.encode(["warm up the kernels", "twice"], batch_size=job["batch_size"])
        results = {
            "versions": {
                "sentence-transformers": sentence_transformers.__version__,
                "transformers": transformers.__version__,
                "onnxruntime": onnxruntime.__version__,
                "torch": torch.__version__,
            },
            "quantization_config": config,
            "int8_file": int8_file,
            "export_seconds": {"onnx-fp32": export_fp32, "onnx-int8": export_int8},
            "timings": {},
        }
        names = list(models)
        for data, texts in job["datasets"].items():
            best = dict.fromkeys(names, float("inf"))
            for rep in range(job["repeats"]):
                order = names[rep % len(names) :] + names[: rep % len(names)]
                for name in order:
                    start = time.perf_counter()
                    vectors = models[name].encode(
                        texts, batch_size=job["batch_size"], show_progress_bar=False
                    )
                    best[name] = min(best[name], time.perf_counter() - start)
                    np.save(out / f"{data}-{name}.npy", np.asarray(vectors, dtype=np.float32))
            results["timings"][data] = best
            print(f"{data}: {best}", file=sys.stderr)
        (out / "results.json").write_text(json.dumps(results, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
