"""The documentation's code runs as written: every Python block of README.md and docs/*.rst.

What counts as a Python block: a fenced block opened with python in README.md; in the .rst
files, a ``code-block`` (or ``code``, ``sourcecode``) directive for python, and a literal block
(a paragraph ending in ``::``) whose text parses as Python. Shell and console blocks are named as
such (``code-block:: bash``) and left alone.

The blocks of one file run in order in one namespace, as a reader would type them, in a
temporary working folder shared by all files (so ``.skprepal-cache`` serves every file after the
first). A block that needs a model hub, a GPU, a server or a long run is marked, and is then
compiled and checked for undefined names without running:

* in .rst, an RST comment line ``.. skprepal-doc: no-run`` before the directive (nothing shows in
  the HTML);
* in README.md, an HTML comment ``<!-- skprepal-doc: no-run -->`` before the fence;
* anywhere, a first line ``# doc: no-run``.

Every block, run or not, is checked for names that nothing defines: not a builtin, not bound
by an earlier block of the same file, not bound in the block itself (an ast walk, as pyflakes
would do it, kept simple: a name bound anywhere in the block counts as bound).
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.rst"))]
NO_RUN = "skprepal-doc: no-run"


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the block's first code line
    code: str
    run: bool

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _no_run_comment(code: str) -> bool:
    first = code.lstrip().splitlines()[0] if code.strip() else ""
    return first.strip().lower().replace(" ", "") == "#doc:no-run"


def markdown_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if re.fullmatch(r"\s*```\s*python\s*", lines[i]):
            start = i + 1
            end = next(j for j in range(start, len(lines)) if lines[j].strip() == "```")
            code = "\n".join(lines[start:end]) + "\n"
            before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            marked = NO_RUN in before and before.strip().startswith("<!--")
            blocks.append(Block(path, start + 1, code, not (marked or _no_run_comment(code))))
            i = end
        i += 1
    return blocks


_DIRECTIVE = re.compile(r"^(\s*)\.\.\s+(code-block|code|sourcecode)::\s*(\S*)\s*$")
_LITERAL = re.compile(r"::\s*$")


def _indented_block(lines: list[str], start: int, indent: int) -> tuple[int, int]:
    """The [first, end) lines of the content indented deeper than ``indent`` after ``start``."""
    j = start
    while j < len(lines) and not lines[j].strip():
        j += 1
    first = j
    while j < len(lines) and (
        not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent
    ):
        j += 1
    while j > first and not lines[j - 1].strip():
        j -= 1
    return first, j


def _marked_before(lines: list[str], i: int) -> bool:
    before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
    return before.strip().startswith("..") and NO_RUN in before


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def rst_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE.match(line)
        if directive:
            indent = len(directive.group(1))
            j = i + 1
            while j < len(lines) and re.match(r"^\s+:[\w-]+:", lines[j]):  # options
                j += 1
            first, end = _indented_block(lines, j, indent)
            if directive.group(3).lower() in ("python", "py", "python3"):
                code = textwrap.dedent("\n".join(lines[first:end])) + "\n"
                run = not (_marked_before(lines, i) or _no_run_comment(code))
                blocks.append(Block(path, first + 1, code, run))
            i = end
            continue
        if _LITERAL.search(line) and not line.lstrip().startswith(".."):
            indent = len(line) - len(line.lstrip())
            first, end = _indented_block(lines, i + 1, indent)
            if first < end and first > i + 1 and not lines[i + 1].strip():
                code = textwrap.dedent("\n".join(lines[first:end])) + "\n"
                if _parses(code):
                    run = not (_marked_before(lines, i) or _no_run_comment(code))
                    blocks.append(Block(path, first + 1, code, run))
                i = end
                continue
        i += 1
    return blocks


def doc_blocks(path: Path) -> list[Block]:
    return markdown_blocks(path) if path.suffix == ".md" else rst_blocks(path)


def _bound_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
            names.add(node.name)
    return names


def undefined_names(code: str, known: set[str]) -> list[str]:
    """Names ``code`` reads that neither it, ``known`` nor the builtins define."""
    tree = ast.parse(code)
    bound = _bound_names(tree) | known | set(dir(builtins))
    used = {
        node.id for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }
    return sorted(used - bound)


def test_the_extractor_finds_every_kind_of_block(tmp_path):
    rst = tmp_path / "page.rst"
    rst.write_text(
        "Title\n=====\n\nRun this:\n\n.. code-block:: python\n   :caption: x\n\n    a = 1\n\n"
        "    b = a + 1\n\nA shell::\n\n    make test\n\nA literal::\n\n    c = b * 2\n\n"
        ".. skprepal-doc: no-run\n\n.. code-block:: python\n\n    d = hub()\n\n"
        ".. code-block:: bash\n\n    pip install x\n"
    )
    blocks = rst_blocks(rst)
    assert [(b.code, b.run) for b in blocks] == [
        ("a = 1\n\nb = a + 1\n", True), ("c = b * 2\n", True), ("d = hub()\n", False)
    ]
    md = tmp_path / "README.md"
    md.write_text(
        "```python\nx = 1\n```\n\n<!-- skprepal-doc: no-run -->\n```python\ny = hub()\n```\n\n"
        "```python\n# doc: no-run\nz = 3\n```\n\n```bash\nls\n```\n"
    )
    assert [(b.code, b.run, b.line) for b in markdown_blocks(md)] == [
        ("x = 1\n", True, 2), ("y = hub()\n", False, 7), ("# doc: no-run\nz = 3\n", False, 11)
    ]
    assert undefined_names("import numpy as np\nf = lambda v: np.sum(v) + w\n", set()) == ["w"]
    assert undefined_names("for i in range(3):\n    total = i\nprint(total, X)\n", {"X"}) == []


def _names(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", DOC_FILES, ids=_names)
def test_every_block_compiles_and_names_only_what_is_defined(path):
    known: set[str] = set()
    for block in doc_blocks(path):
        compile(block.code, block.name, "exec")
        missing = undefined_names(block.code, known)
        assert not missing, f"{block.name} uses {missing}, which no earlier block defines"
        known |= _bound_names(ast.parse(block.code))


def test_the_docs_have_python_blocks_to_test():
    counts = {_names(path): len(doc_blocks(path)) for path in DOC_FILES}
    assert counts["README.md"] >= 2 and counts["docs/user_guide.rst"] >= 10
    assert counts["docs/method.rst"] == 2 and counts["docs/getting_started.rst"] == 2
    quickstart = doc_blocks(ROOT / "README.md")[0]
    assert len(quickstart.code.strip().splitlines()) <= 10, "the quickstart must stay short"


@pytest.fixture(scope="module")
def doc_folder(tmp_path_factory):
    """One working folder for every file's blocks, so the embedding cache is shared."""
    return tmp_path_factory.mktemp("docs-run")


@pytest.fixture(scope="module")
def fine_tunes():
    """Fitted TransferFineTuners by (parameters, texts, labels), shared by the files' blocks."""
    return {}


@pytest.fixture
def repeat_fine_tunes_once(monkeypatch, fine_tunes):
    """A repeated fine-tune (same parameters, texts and labels) reuses the first one's result.

    Several pages fine-tune the same model on the same acquired tickets; with a ``random_state``
    the fine-tune repeats exactly on the CPU (tests/test_finetune.py checks it), so the first
    result stands for the others, as the embedding cache does for repeated embeddings. A
    fine-tune without a ``random_state`` is always run.
    """
    import copy

    from skprepal import TransferFineTuner

    fit = TransferFineTuner.fit

    def fit_once(self, X, y):
        params = self.get_params()
        if params.get("random_state") is None:
            return fit(self, X, y)
        key = (repr(sorted(params.items())), repr(list(map(str, X))), repr(list(map(str, y))))
        if key not in fine_tunes:
            fine_tunes[key] = copy.deepcopy(vars(fit(self, X, y)))
        vars(self).update(copy.deepcopy(fine_tunes[key]))
        return self

    monkeypatch.setattr(TransferFineTuner, "fit", fit_once)


def _check_readme(namespace: dict, printed: str, folder: Path) -> None:
    # The quickstart prints the number of labels and the head's held-out accuracy.
    assert re.search(r"^200 labels, held-out accuracy: 0\.\d{3}$", printed, re.M), printed
    assert float(re.search(r"held-out accuracy: (0\.\d+)", printed).group(1)) > 0.7
    assert (folder / ".skprepal-cache" / "embeddings.sqlite3").is_file()
    assert (folder / "tickets-model" / "config.json").is_file()


CHECKS = {"README.md": _check_readme}


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a page fine-tunes MiniLM: seconds here, much longer on a busy CPU
@pytest.mark.parametrize("path", DOC_FILES, ids=_names)
def test_every_block_runs_as_written(
    path, doc_folder, monkeypatch, capsys, packaged_minilm, repeat_fine_tunes_once
):
    import matplotlib

    matplotlib.use("Agg")  # a block that plots must not need a display
    monkeypatch.chdir(doc_folder)
    namespace: dict = {"__name__": "__doc_block__"}
    for block in doc_blocks(path):
        if block.run:
            exec(compile(block.code, block.name, "exec"), namespace)
    check = CHECKS.get(_names(path))
    if check is not None:
        check(namespace, capsys.readouterr().out, doc_folder)
