"""Every example in README.md and docs/*.md runs, and what it prints is
compared with what the page says it prints: a number that drifts fails.

The rules a page follows (docs/development.md, "Examples in the docs"):

- A ```pycon block is a Python session: ``>>> `` and ``... `` lines, each
  statement followed by its exact output. The blocks of one page run in
  order in one namespace, with Python's doctest (ELLIPSIS: ``...`` matches
  anything; NORMALIZE_WHITESPACE). A blank line inside a block belongs to
  the output it sits in. A page starts from nothing: its first block imports
  what it uses and loads the demo dataset (``oc.load_demo_dataset()``).
- A ```shell block whose lines start with ``$ `` runs each command with bash
  (the test environment's ``bin`` first on PATH, so ``optimal-confidence``
  and ``python`` are this checkout's) and compares its stdout with the lines
  under it (stderr is not compared; ``2>&1`` when it matters). A command
  that fails fails the test unless the page shows it: ``cmd || echo "exit
  status $?"``.
- Every page runs in a temporary working directory of its own (files an
  example writes go there; the pycon and shell blocks share it) against a
  fresh copy of the demo dataset ``optimal-confidence-demo``, in the tests'
  own database.
- A block that cannot run in CI (it needs the internet, root, a browser or
  a running App, or names a dataset of yours) says so in its fence: ```shell
  no-run, ```python no-run, ```pycon no-run. It is counted, not run.
- A ```python, ```pycon, ```shell, ```bash, ```sh or ```console block that
  is neither runnable nor marked no-run fails: convert it or mark it.
- A page with no runnable example fails unless it says why in a comment
  ``<!-- no-run: the reason -->``.
"""

import doctest
import glob
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass

import pytest

import fiftyone as fo

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(
    os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md"))
)
DEMO = "optimal-confidence-demo"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
EXAMPLE_LANGS = {"python", "pycon", "shell", "bash", "sh", "console"}
COMMAND_TIMEOUT = 300

_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
_PAGE_NO_RUN = re.compile(r"<!--\s*no-run:\s*(\S[^>]*?)\s*-->")


@dataclass
class Block:
    lang: str
    flags: tuple
    body: str
    line: int  # the line of the block's first body line, 1-based

    @property
    def no_run(self) -> bool:
        return "no-run" in self.flags

    @property
    def kind(self) -> str:
        """'pycon', 'shell' (runnable), 'skip' (marked no-run), 'text'
        (not an example), or 'unmarked' (an example that neither runs nor
        says why)."""
        if self.lang not in EXAMPLE_LANGS:
            return "text"
        if self.no_run:
            return "skip"
        if self.lang == "pycon" and ">>> " in self.body:
            return "pycon"
        if self.lang == "shell" and self.body.startswith("$ "):
            return "shell"
        return "unmarked"


def parse_blocks(text: str) -> list:
    blocks = []
    for m in _FENCE.finditer(text):
        words = m.group(1).split()
        lang = words[0] if words else ""
        line = text.count("\n", 0, m.start(2)) + 1
        blocks.append(Block(lang, tuple(words[1:]), m.group(2), line))
    return blocks


def _pycon_source(body: str) -> str:
    """The block for doctest's parser: a blank line inside an output is
    doctest's <BLANKLINE>; a blank line before a prompt or at the end only
    separates."""
    lines = body.split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.strip() == "":
            rest = [x for x in lines[i + 1:] if x.strip() != ""]
            in_output = out and not out[-1].startswith(">>> ") and rest and not (
                rest[0].startswith(">>> ")
            )
            if in_output and not out[-1].startswith("... "):
                out.append("<BLANKLINE>")
                continue
        out.append(line)
    return "\n".join(out)


def run_pycon(block: Block, globs: dict, page: str) -> list:
    """Runs one block in ``globs``; returns doctest's failure reports."""
    parser = doctest.DocTestParser()
    examples = parser.get_examples(_pycon_source(block.body))
    test = doctest.DocTest(examples, globs, page, page, block.line - 1, None)
    test.globs = globs  # DocTest copies them; the page's blocks share one namespace
    reports = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test, out=reports.append, clear_globs=False)
    return reports


def parse_commands(body: str) -> list:
    """(command, expected output) pairs of a shell block; a command line
    ending in a backslash continues on the next line."""
    pairs = []
    lines = body.rstrip("\n").split("\n")
    i = 0
    while i < len(lines):
        command = lines[i][2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        want = []
        i += 1
        while i < len(lines) and not lines[i].startswith("$ "):
            want.append(lines[i])
            i += 1
        pairs.append((command, "\n".join(want).strip("\n") + "\n" if want else ""))
    return pairs


def shell_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_shell(block: Block, cwd: str, page: str) -> list:
    checker = doctest.OutputChecker()
    reports = []
    for command, want in parse_commands(block.body):
        proc = subprocess.run(
            ["bash", "-c", command], cwd=cwd, env=shell_env(), capture_output=True,
            text=True, timeout=COMMAND_TIMEOUT,
        )
        where = f'File "{page}", block at line {block.line}: $ {command}'
        if proc.returncode != 0:
            reports.append(
                f"{where}\nexit status {proc.returncode} (show it on the page with "
                f'`|| echo "exit status $?"`)\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}'
            )
        elif not checker.check_output(want, proc.stdout, FLAGS):
            reports.append(f"{where}\nExpected:\n{want}Got:\n{proc.stdout}")
    return reports


def check_page(text: str, page: str, cwd: str) -> dict:
    """Runs every example of a page (the text of ``page``) in ``cwd``;
    returns the counts by kind and the failure reports."""
    blocks = parse_blocks(text)
    counts = {k: 0 for k in ("pycon", "shell", "skip", "text", "unmarked")}
    reports = []
    globs = {"__name__": "__docs__"}
    old = os.getcwd()
    os.chdir(cwd)
    try:
        for block in blocks:
            counts[block.kind] += 1
            if block.kind == "pycon":
                reports += run_pycon(block, globs, page)
            elif block.kind == "shell":
                reports += run_shell(block, cwd, page)
            elif block.kind == "unmarked":
                reports.append(
                    f'File "{page}", line {block.line}: a ```{block.lang} block that '
                    "does not run: write it as ```pycon (>>> lines and their output) or "
                    "```shell ($ lines and their output), or mark it "
                    f"```{block.lang} no-run"
                )
    finally:
        os.chdir(old)
    if counts["pycon"] + counts["shell"] == 0 and not _PAGE_NO_RUN.search(text):
        reports.append(
            f"{page}: no runnable example; add one, or say why in a comment "
            "<!-- no-run: the reason -->"
        )
    return {"counts": counts, "reports": reports}


@pytest.fixture(scope="module")
def pristine_demo(demo_dataset):
    """The demo dataset as `make demo` builds it, under a name of the tests'
    own, drawn from the session's demo images (no drawing again)."""
    from optimal_confidence.demo import make_demo_dataset

    images_dir = os.path.dirname(demo_dataset.first().filepath)
    ds = make_demo_dataset("oc-docs-pristine", images_dir=images_dir, overwrite=True)
    yield ds
    ds.delete()
    if fo.dataset_exists(DEMO):
        fo.delete_dataset(DEMO)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples(page, pristine_demo, tmp_path):
    if fo.dataset_exists(DEMO):
        fo.delete_dataset(DEMO)
    pristine_demo.clone(DEMO, persistent=True)
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        text = f.read()
    result = check_page(text, page, str(tmp_path))
    assert not result["reports"], "\n\n".join(result["reports"])
    counts = result["counts"]
    assert counts["pycon"] + counts["shell"] > 0 or _PAGE_NO_RUN.search(text)


# The runner itself: a drifted number fails, and so does an example that
# neither runs nor says why

GOOD = """# A page

```pycon
>>> import numpy as np
>>> np.array([411, 341])
array([411, 341])
>>> for x in ("a", "", "b"):
...     print(x)
a

b
```

```pycon
>>> int(np.array([1]).sum())      # the namespace of the block above
1
```

```shell
$ echo 413 341
413 ...
$ printf 'a\\n\\nb\\n'
a

b
```
"""


def test_runner_passes_true_examples(tmp_path):
    result = check_page(GOOD, "good.md", str(tmp_path))
    assert result["reports"] == []
    assert result["counts"]["pycon"] == 2 and result["counts"]["shell"] == 1


def test_runner_fails_a_drifted_number(tmp_path):
    text = GOOD
    bad_pycon = text.replace("array([411, 341])\n>>> for", "array([413, 341])\n>>> for")
    reports = check_page(bad_pycon, "bad.md", str(tmp_path))["reports"]
    assert len(reports) == 1 and "array([413, 341])" in reports[0]
    assert 'File "bad.md", line 5' in reports[0]  # the page's own line
    bad_shell = text.replace("413 ...", "411 ...")
    reports = check_page(bad_shell, "bad.md", str(tmp_path))["reports"]
    assert len(reports) == 1 and "$ echo 413 341" in reports[0] and "411 ..." in reports[0]


def test_runner_needs_a_shown_exit_status(tmp_path):
    page = "```shell\n$ false\n```\n"
    reports = check_page(page, "p.md", str(tmp_path))["reports"]
    assert len(reports) == 1 and "exit status 1" in reports[0]
    shown = '```shell\n$ false || echo "exit status $?"\nexit status 1\n```\n'
    assert check_page(shown, "p.md", str(tmp_path))["reports"] == []


def test_runner_refuses_unmarked_and_empty_pages(tmp_path):
    page = "```python\nprint(1)\n```\n\n```shell no-run\n$ apt-get install x\n```\n"
    result = check_page(page, "p.md", str(tmp_path))
    assert result["counts"]["unmarked"] == 1 and result["counts"]["skip"] == 1
    assert any("```python no-run" in r for r in result["reports"])
    assert any("no runnable example" in r for r in result["reports"])
    marked = "<!-- no-run: it only installs -->\n" + page.replace("```python", "```python no-run")
    assert check_page(marked, "p.md", str(tmp_path))["reports"] == []


_LINK = re.compile(r"\]\(([^)\s]+)\)")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: str) -> set:
    with open(path, encoding="utf-8") as f:
        text = _FENCE.sub("", f.read())
    return {github_anchor(m.group(1)) for m in re.finditer(r"(?m)^#+ (.*)$", text)}


@pytest.mark.parametrize("page", PAGES)
def test_page_links(page):
    """Every link to a file of the repository names one that exists, and an
    anchor a heading of it."""
    path = os.path.join(ROOT, page)
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"`[^`\n]*`", "", _FENCE.sub("", f.read()))  # not code
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
        if not os.path.exists(dest):
            broken.append(f"{target}: no file {os.path.relpath(dest, ROOT)}")
        elif anchor and (not dest.endswith(".md") or anchor not in anchors(dest)):
            broken.append(f"{target}: no heading with the anchor #{anchor}")
    assert not broken, f"{page}: " + "; ".join(broken)


def test_every_page_is_checked():
    assert "README.md" in PAGES and len(PAGES) > 1
