"""The shape the code keeps: the math, the option spec, the result and
its reports import no FiftyOne; no function, class or module grows past
what a maintainer can hold in their head; the plugin's root module only
registers."""

import ast
import os
import subprocess
import sys

import pytest

# the repository (not from conftest: `python tests/test_structure.py` starts no database)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: modules that must work without FiftyOne (tested without a database)
PURE = [
    "sweep", "objectives", "uncertainty", "review", "reports", "options",
    "request", "per_class", "curves", "result", "plots", "calibration", "guarantee",
    "pvalues", "certified", "reports_certainty", "reports_compare", "deployment",
    "result_actions", "option_types", "risks",
]

MAX_FUNCTION_CODE_LINES = 60
MAX_CLASS_LINES = 400
MAX_MODULE_LINES = 700
MAX_ROOT_INIT_LINES = 60


@pytest.mark.parametrize("module", PURE)
def test_module_imports_no_fiftyone(module):
    # a fresh interpreter: importing the module must not pull in fiftyone
    code = f"import sys, optimal_confidence.{module}; sys.exit('fiftyone' in sys.modules)"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr or f"optimal_confidence.{module} imports fiftyone"


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


def sizes(top: int = 10) -> str:
    """The longest functions (code lines), the largest classes and every
    module's lines, as the checks above measure them."""
    funcs, classes, modules = [], [], []
    for path, text in _sources():
        src = text.splitlines()
        modules.append((len(src), path))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                funcs.append((_code_lines(src, node), f"{path}:{node.lineno} {node.name}"))
            elif isinstance(node, ast.ClassDef):
                classes.append((node.end_lineno - node.lineno + 1, f"{path}:{node.lineno} {node.name}"))
    out = [f"the {top} longest functions (code lines; limit {MAX_FUNCTION_CODE_LINES}):"]
    out += [f"  {n:4d}  {where}" for n, where in sorted(funcs, reverse=True)[:top]]
    out += [f"the largest classes (lines; limit {MAX_CLASS_LINES}):"]
    out += [f"  {n:4d}  {where}" for n, where in sorted(classes, reverse=True)[:5]]
    out += [f"modules (lines; limit {MAX_MODULE_LINES}):"]
    out += [f"  {n:4d}  {where}" for n, where in sorted(modules, reverse=True)]
    return "\n".join(out)


if __name__ == "__main__":  # .venv/bin/python tests/test_structure.py
    print(sizes())
