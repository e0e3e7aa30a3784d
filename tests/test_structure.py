"""The shape the code keeps, and its map.

- The package is cut into stages (:data:`LAYERS`), each a sub-package (or a
  few top-level modules) with one job, in a declared order; an import only
  points to the same stage or one below. Nothing below the front ends
  imports ``app`` or ``cli``.
- No import cycle between modules: every import counts, also those inside
  functions. The only imports left out are the annotation-only ones under
  ``TYPE_CHECKING`` listed in :data:`ANNOTATION_ONLY`.
- The math, the option spec, the result and its reports import no FiftyOne.
- No function, class or module grows past what a maintainer can hold in
  their head; the plugin's root module only registers.

``python tests/test_structure.py`` prints the map: the stages bottom-up,
their modules and what each imports, and the sizes the checks measure.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from typing import NamedTuple

import pytest

# the repository (not from conftest: `python tests/test_structure.py` starts no database)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "optimal_confidence"

#: the stages, bottom-up: a module of a stage imports only its own stage
#: and those listed before it. A stage is a sub-package of the library or,
#: for the front ends, the top-level modules named.
LAYERS: list[tuple[str, tuple[str, ...], str]] = [
    ("spec", ("spec",), "what a run asks for: the options, the objective, the checked request"),
    ("curves", ("curves",), "counting and choosing: match records, counts, curves, objectives, per class, review band, bootstrap"),
    ("records", ("records",), "reading FiftyOne: label fields, match records from the matchers, the sweep stage, views"),
    ("store", ("store",), "every write: the write plan, all or nothing; runs, evaluations, calibrated fields, files"),
    ("certainty", ("certainty",), "beyond the images swept: guarantees, calibration, held-out findings"),
    ("outputs", ("outputs",), "what a result says: text reports, deployment configs"),
    ("plots", ("plots",), "figures: matplotlib and the panel's plotly dicts"),
    ("result", ("result",), "the result and its methods, comparisons, stored results loaded"),
    ("run", ("run",), "the pipeline, a request with its actions, compare_models"),
    ("library", ("api", "demo"), "the public function and the demo dataset"),
    ("front ends", ("cli", "__main__", "app", "install", ""), "the command line, the App (the root package's lazy names), the plugin's install"),
]

#: imports under ``TYPE_CHECKING``, for annotations only, that point up a
#: stage (or would close a cycle): a lower stage annotates with a class of
#: a higher one that it only reads. Any other import counts.
ANNOTATION_ONLY = {
    ("result.checks", "result.result"),
    ("result.production", "result.result"),
    ("spec.request", "result.result"),
    ("records.views", "result.result"),
    ("store.runs", "result.result"),
    ("store.evaluation", "result.result"),
    ("store.calibrated", "certainty.calibration"),
    ("certainty.certified", "result.result"),
    ("outputs.reports", "result.result"),
    ("outputs.reports_certainty", "result.result"),
    ("outputs.deployment", "result.result"),
    ("plots.data", "result.result"),
    ("plots.figure", "result.result"),
    ("plots.traces", "result.result"),
}

#: modules that must work without FiftyOne (tested without a database):
#: every module of these stages, and the ones named
PURE_STAGES = ("spec", "curves", "certainty", "outputs", "plots")
PURE_MODULES = ("result", "result.result", "result.actions", "result.comparison", "records.box_matching")

MAX_FUNCTION_CODE_LINES = 60
MAX_CLASS_LINES = 400
MAX_MODULE_LINES = 700
MAX_ROOT_INIT_LINES = 60


# ---------------------------------------------------------------------------
# The import graph


class Import(NamedTuple):
    source: str  # module names relative to the package ("" is the package)
    target: str
    line: int
    annotation_only: bool  # under ``if TYPE_CHECKING:``


def modules(root: str = ROOT) -> dict[str, str]:
    """``{module: path}`` of the library, names relative to the package."""
    out = {}
    base = os.path.join(root, PACKAGE)
    for folder, dirs, names in os.walk(base):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            if name.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, name), base)[:-3].replace(os.sep, ".")
                rel = "" if rel == "__init__" else rel.removesuffix(".__init__")
                out[rel] = os.path.join(folder, name)
    return out


def _absolute(mods: dict[str, str], source: str, node: ast.AST) -> list[str]:
    """The modules of the package an import statement loads."""
    full = lambda m: f"{PACKAGE}.{m}" if m else PACKAGE  # noqa: E731
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            is_package = mods[source].endswith("__init__.py")
            parts = full(source).split(".")
            parts = parts if is_package else parts[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        names = [base] + [f"{base}.{a.name}" for a in node.names]
    known = {full(m): m for m in mods}
    me = full(source)
    # a module's own packages are loaded before it: not an edge
    return sorted({known[n] for n in names if n in known and n != me and not me.startswith(n + ".")})


def imports(root: str = ROOT) -> list[Import]:
    """Every import between the package's modules, also inside functions."""
    mods = modules(root)
    out = []
    for source, path in mods.items():
        tree = ast.parse(open(path).read())
        annotation = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                annotation |= {id(x) for b in node.body for x in ast.walk(b)}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _absolute(mods, source, node):
                    out.append(Import(source, target, node.lineno, id(node) in annotation))
    return out


def counted(edges: list[Import]) -> list[Import]:
    """The imports the checks count: all but the listed annotation-only ones."""
    return [e for e in edges if not (e.annotation_only and (e.source, e.target) in ANNOTATION_ONLY)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a
    module importing itself): groups of modules that import each other in
    a loop. Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    nodes = sorted(set(graph) | {t for ts in graph.values() for t in ts})
    for start in nodes:
        if start in index:
            continue
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    group = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        group.append(w)
                        if w == v:
                            break
                    if len(group) > 1 or v in graph.get(v, ()):
                        out.append(sorted(group))
    return out


def graph_of(edges: list[Import]) -> dict[str, set[str]]:
    g: dict[str, set[str]] = {}
    for e in edges:
        g.setdefault(e.source, set()).add(e.target)
    return g


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of a module's stage."""
    head = module.split(".")[0]
    for i, (_, members, _) in enumerate(LAYERS):
        if head in members:
            return i
    raise KeyError(module)


def upward(edges: list[Import]) -> list[str]:
    """The imports that point to a higher stage, in words (the front ends
    are the top stage: nothing below imports them)."""
    bad = []
    for e in edges:
        src, dst = layer_of(e.source), layer_of(e.target)
        if dst > src:
            bad.append(
                f"{e.source}:{e.line} imports {e.target} "
                f"({LAYERS[src][0]} -> {LAYERS[dst][0]})"
            )
    return bad


# ---------------------------------------------------------------------------
# The checks


def test_every_module_belongs_to_a_stage():
    unplaced = []
    for m in modules():
        try:
            layer_of(m)
        except KeyError:
            unplaced.append(m)
    assert unplaced == [], "add the new package or module to LAYERS"


def test_no_import_cycles():
    found = cycles(graph_of(counted(imports())))
    assert found == [], "modules that import each other in a loop:\n" + "\n".join(
        " <-> ".join(group) for group in found
    )


def test_imports_point_down_the_stages():
    found = upward(counted(imports()))
    assert found == [], "imports that point up a stage (see LAYERS):\n" + "\n".join(found)


def test_annotation_only_imports_are_listed_and_still_needed():
    found = {(e.source, e.target) for e in imports() if e.annotation_only}
    unlisted = {
        (e.source, e.target)
        for e in imports()
        if e.annotation_only and layer_of(e.target) > layer_of(e.source)
    } - ANNOTATION_ONLY
    assert unlisted == set(), "an upward import under TYPE_CHECKING must be listed in ANNOTATION_ONLY"
    assert ANNOTATION_ONLY - found == set(), "ANNOTATION_ONLY lists imports that are gone"


def test_the_checks_catch_a_cycle_and_an_upward_import():
    # the checks themselves, on a made-up graph: a test that cannot fail proves nothing
    edges = [
        Import("curves.sweep", "curves.objectives", 1, False),
        Import("curves.objectives", "result.result", 2, False),
        Import("result.result", "curves.sweep", 3, False),
        Import("spec.options", "spec.request", 4, False),
        Import("run.pipeline", "cli", 5, False),
    ]
    assert cycles(graph_of(edges)) == [["curves.objectives", "curves.sweep", "result.result"]]
    assert upward(edges) == [
        "curves.objectives:2 imports result.result (curves -> result)",
        "run.pipeline:5 imports cli (run -> front ends)",
    ]
    # an annotation-only import leaves the count only when it is listed
    listed = Import("plots.data", "result.result", 6, True)
    unlisted = Import("plots.data", "run.pipeline", 7, True)
    assert counted([listed, unlisted]) == [unlisted]


def _pure_modules() -> list[str]:
    return sorted(
        m for m in modules()
        if m.split(".")[0] in PURE_STAGES or m in PURE_MODULES
    )


@pytest.mark.parametrize("module", _pure_modules())
def test_module_imports_no_fiftyone(module):
    # a fresh interpreter: importing the module must not pull in fiftyone
    code = f"import sys, {PACKAGE}.{module}; sys.exit('fiftyone' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr or f"{PACKAGE}.{module} imports fiftyone"


def _sources():
    for root, dirs, names in os.walk(ROOT):
        dirs[:] = [
            d for d in dirs
            if not d.startswith(".") and d not in ("tests", "build", "dist", "__pycache__")
        ]
        for name in names:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                yield os.path.relpath(path, ROOT), open(path).read()


def _code_lines(src, node):
    lines = set(range(node.lineno, node.end_lineno + 1))
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        lines -= set(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for i in lines if src[i - 1].strip() and not src[i - 1].strip().startswith("#"))


def test_functions_classes_and_modules_stay_small():
    too_long = []
    for path, text in _sources():
        src = text.splitlines()
        if len(src) > MAX_MODULE_LINES:
            too_long.append(f"{path}: {len(src)} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(src, node)
                if n > MAX_FUNCTION_CODE_LINES:
                    too_long.append(f"{path}:{node.lineno} {node.name}: {n} code lines")
            elif isinstance(node, ast.ClassDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_CLASS_LINES:
                    too_long.append(f"{path}:{node.lineno} class {node.name}: {n} lines")
    assert too_long == []


def test_the_plugins_root_module_only_registers():
    with open(os.path.join(ROOT, "__init__.py")) as f:
        text = f.read()
    assert len(text.splitlines()) < MAX_ROOT_INIT_LINES
    tree = ast.parse(text)
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == ["register"]


# ---------------------------------------------------------------------------
# The map


def layers_map() -> str:
    """The stages bottom-up, each module with the modules it imports from
    other stages (its own stage's in parentheses)."""
    edges = counted(imports())
    mods = modules()
    out = [f"import cycles: {len(cycles(graph_of(edges)))}; upward imports: {len(upward(edges))}"]
    for i, (name, members, job) in enumerate(LAYERS):
        out.append(f"\n{i + 1}. {name}: {job}")
        for m in sorted(x for x in mods if layer_of(x) == i):
            below = sorted({e.target for e in edges if e.source == m and layer_of(e.target) < i})
            same = sorted({e.target for e in edges if e.source == m and layer_of(e.target) == i})
            shown = ", ".join(below) + (f" ({', '.join(same)})" if same else "")
            out.append(f"   {m or '(package)':24s} {shown}")
    out.append("\nannotation-only imports left out (TYPE_CHECKING):")
    out += [f"   {s} -> {t}" for s, t in sorted(ANNOTATION_ONLY)]
    return "\n".join(out)


def sizes(top: int = 10) -> str:
    """The longest functions (code lines), the largest classes and every
    module's lines, as the checks above measure them."""
    funcs, classes, mods = [], [], []
    for path, text in _sources():
        src = text.splitlines()
        mods.append((len(src), path))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                funcs.append((_code_lines(src, node), f"{path}:{node.lineno} {node.name}"))
            elif isinstance(node, ast.ClassDef):
                classes.append((node.end_lineno - node.lineno + 1, f"{path}:{node.lineno} {node.name}"))
    out = [f"the {top} longest functions (code lines; limit {MAX_FUNCTION_CODE_LINES}):"]
    out += [f"  {n:4d}  {where}" for n, where in sorted(funcs, reverse=True)[:top]]
    out += [f"the largest classes (lines; limit {MAX_CLASS_LINES}):"]
    out += [f"  {n:4d}  {where}" for n, where in sorted(classes, reverse=True)[:5]]
    out += [f"the largest modules (lines; limit {MAX_MODULE_LINES}):"]
    out += [f"  {n:4d}  {where}" for n, where in sorted(mods, reverse=True)[:top]]
    return "\n".join(out)


if __name__ == "__main__":  # python tests/test_structure.py
    print(layers_map())
    print()
    print(sizes())
