"""Print the mutation scores of ``make mutation`` per module, as tests/MUTATION.md records them.

Reads mutmut's results in ``mutants/`` and the equivalent mutants listed in
``tests/MUTATION.md`` (a mutant's name in backticks at the start of a list item), and prints one
Markdown table row per module. The score counts a mutant as detected when a test fails (killed) or
hangs (timeout); equivalent mutants, which no test can tell from the original, are left out.

Run from the repository root: ``python tests/mutation_report.py`` (``--survivors`` lists the
surviving mutants that are not listed as equivalent).

``mutants/`` is not tracked, so a fresh checkout would judge every mutant again (about a day on
a 2-core machine). ``--save`` copies mutmut's ``.meta`` files (the verdicts, and a hash of every
mutated function) into the tracked ``tests/mutation-results/``; ``--restore`` puts them back
into a ``mutants/`` that lacks them, before ``mutmut run``. mutmut judges again every mutant of a
function whose hash changed since, so a restored verdict is never one of older code.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

_STATUS = {"caught by type check": "killed", "not checked": "not run"}


def _status(code: int | None) -> str:
    """mutmut's name for an exit code, with "not checked" as "not run"."""
    from mutmut.stats import status_by_exit_code

    name = status_by_exit_code[code]
    return _STATUS.get(name, name)


def equivalent_mutants(notes: Path) -> set[str]:
    """Mutant names listed in MUTATION.md: ``- `skprepal.x.y__mutmut_3`: why``."""
    if not notes.exists():
        return set()
    return set(re.findall(r"^\s*[-*] `([\w.ǁ]+__mutmut_\d+)`", notes.read_text(), re.M))


def results(root: Path) -> dict[str, dict[str, str]]:
    """``{module path: {mutant name: status}}`` from mutmut's ``.meta`` files."""
    out: dict[str, dict[str, str]] = {}
    for meta in sorted(root.glob("mutants/skprepal/**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if codes:
            module = str(meta.relative_to(root / "mutants"))[: -len(".meta")]
            out[module] = {name: _status(code) for name, code in codes.items()}
    return out


def copy_results(source: Path, target: Path, *, overwrite: bool) -> int:
    """Copy every ``skprepal/**/*.py.meta`` under ``source`` to the same place under ``target``."""
    copied = 0
    for meta in sorted(source.glob("skprepal/**/*.py.meta")):
        destination = target / meta.relative_to(source)
        if destination.exists() and not overwrite:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(meta, destination)
        copied += 1
    return copied


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[1]
    kept = root / "tests" / "mutation-results"
    if "--restore" in argv:
        copied = copy_results(kept, root / "mutants", overwrite=False)
        print(f"restored {copied} mutmut result files from {kept.relative_to(root)}/")
        return 0
    if "--save" in argv:
        copied = copy_results(root / "mutants", kept, overwrite=True)
        print(f"saved {copied} mutmut result files to {kept.relative_to(root)}/")
    equivalent = equivalent_mutants(root / "tests" / "MUTATION.md")
    by_module = results(root)
    if not by_module:
        print("no mutmut results in mutants/: run `make mutation` first")
        return 1
    print("| module | " + " | ".join(_COLUMNS) + " | other | score |")
    print("|---|" + "---:|" * (len(_COLUMNS) + 2))
    survivors = []
    totals: Counter[str] = Counter()
    for module, statuses in by_module.items():
        counts: Counter[str] = Counter()
        for name, status in statuses.items():
            if status == "survived" and name in equivalent:
                status = "equivalent"
            elif status == "survived":
                survivors.append(name)
            counts[status] += 1
        counts["mutants"] = len(statuses)
        totals.update(counts)
        print(_row(module, counts))
    print(_row("**all run**", totals))
    if "--survivors" in argv:
        print("\nsurviving, not listed as equivalent:")
        for name in survivors:
            print(f"  {name}")
    return 0


_COLUMNS = ("mutants", "killed", "timeout", "survived", "equivalent", "no tests", "not run")


def _row(module: str, counts: Counter[str]) -> str:
    detected = counts["killed"] + counts["timeout"]
    judged = detected + counts["survived"] + counts["no tests"]
    score = f"{100 * detected / judged:.1f}%" if judged else "not run"
    other = counts["mutants"] - sum(counts[k] for k in _COLUMNS[1:])
    cells = [counts[k] for k in _COLUMNS] + [other]
    return f"| {module} | " + " | ".join(str(c) for c in cells) + f" | {score} |"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
