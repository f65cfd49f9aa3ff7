"""Print the mutation scores of ``make mutation`` per module, as tests/MUTATION.md records them.

Reads mutmut's results in ``mutants/`` and the equivalent mutants listed in
``tests/MUTATION.md`` (a mutant's name in backticks at the start of a list item), and prints one
Markdown table row per module. The score counts a mutant as detected when a test fails (killed) or
hangs (timeout); equivalent mutants, which no test can tell from the original, are left out.
Survivors listed in the section "Killed outside the run" (a test that ``make mutation`` leaves
out kills them, e.g. one that starts a Ray cluster; each checked by hand) count as killed.

Run from the repository root: ``python tests/mutation_report.py`` (``--survivors`` lists the
surviving mutants that are not listed).

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


#: The section of MUTATION.md listing survivors that a test outside mutmut's selection kills.
KILLED_OUTSIDE = "## Killed outside the run"


def listed_mutants(notes: Path) -> tuple[set[str], set[str]]:
    """``(equivalent, killed outside)``: mutant names listed in MUTATION.md.

    An item is ``- `skprepal.x.y__mutmut_3`: why``; those in the section :data:`KILLED_OUTSIDE`
    are killed by a test that ``make mutation`` does not run (checked by hand), the rest are
    equivalent.
    """
    if not notes.exists():
        return set(), set()
    text = notes.read_text()
    outside = ""
    if KILLED_OUTSIDE in text:
        outside = text.split(KILLED_OUTSIDE, 1)[1].split("\n## ", 1)[0]

    def names(part: str) -> set[str]:
        return set(re.findall(r"^\s*[-*] `([\w.ǁ]+__mutmut_\d+)`", part, re.M))

    killed = names(outside)
    return names(text) - killed, killed


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
    equivalent, killed_outside = listed_mutants(root / "tests" / "MUTATION.md")
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
            elif status == "survived" and name in killed_outside:
                status = "killed"
            elif status == "survived":
                survivors.append(name)
            counts[status] += 1
        counts["mutants"] = len(statuses)
        totals.update(counts)
        print(_row(module, counts))
    print(_row("**all run**", totals))
    if "--survivors" in argv:
        print("\nsurviving, not listed in MUTATION.md:")
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
