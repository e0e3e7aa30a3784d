"""Each front end's own words for the options.

Help texts and messages are written once, in the API's words (an option
is its keyword, a value ``name=value``). :func:`speak` says them the way
the front end in front of the user does:

-   ``"api"`` (Python, the operator called as a function): unchanged,
    ``pass overwrite=True``;
-   ``"cli"``: flags, ``pass --overwrite``, ``--target 0.95``;
-   ``"app"``: the form's labels, ``turn on "Overwrite"``,
    ``set "Target" to 0.95``.

Only option names with an underscore (``run_key``, ``fp_cost``) and
``name=value`` pairs are translated: a bare ``target`` or ``objective`` is
also an English word. :func:`markdown_text` escapes what the App's
markdown would otherwise render (``fp_cost*FP`` in italics).

Pure Python: nothing here imports FiftyOne or numpy.
"""

from __future__ import annotations

import re
import shlex
from typing import Iterable

from .option_types import Option

__all__ = ["FRONT_ENDS", "markdown_text", "speak"]

#: the front ends :func:`speak` knows
FRONT_ENDS = ("api", "cli", "app")

_VALUE = r"('[^']*'|\"[^\"]*\"|\[[^\]]*\]|[\w.+-]+)"


def _plain(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _cli_pair(o: Option, value: str) -> str:
    v = shlex.quote(_plain(value))
    if o.kind == "bool":
        if o.cli_flag is not None and str(o.cli_flag) == v:
            return o.flag
        if o.cli_flag is not None:  # the flag sets the other value: leave it out
            return f"without {o.flag}"
    return f"{o.flag} {v}"


def _app_value(o: Option, value: str) -> str:
    v = _plain(value)
    if o.kind == "bool":
        return {"True": "on", "False": "off", "1": "on", "0": "off"}.get(v, v)
    return v


#: what is never translated: a quoted or back-quoted span (a dataset's,
#: a run's or a file's name) and a path
_KEEP = r"(?<![\w])'[^'\n]*'|\"[^\"\n]*\"|`[^`\n]*`|[\w.~-]*/[^\s;,)]*"


def _pattern(names: Iterable[str]) -> re.Pattern:
    alternatives = "|".join(sorted(map(re.escape, names), key=len, reverse=True))
    option = rf"(?<![\w.\-/\\'\"`])(?P<passed>pass )?(?P<name>{alternatives})(?:=(?P<value>{_VALUE[1:-1]}))?(?![\w(/'\"`])"
    return re.compile(rf"(?P<keep>{_KEEP})|{option}")


def speak(text: str, front_end: str, options: Iterable[Option]) -> str:
    """``text`` (in the API's words) in ``front_end``'s words.

    Args:
        text: a help text or a message
        front_end: one of :data:`FRONT_ENDS`
        options: the options whose names to translate

    Raises:
        ValueError: for an unknown front end
    """
    if front_end not in FRONT_ENDS:
        raise ValueError(f"front_end must be one of {FRONT_ENDS}; got {front_end!r}")
    if front_end == "api" or not text:
        return text
    by_name = {o.name: o for o in options}
    # a name alone is translated only when it cannot be an ordinary word
    words = [n for n in by_name if "_" in n]

    def one(m: re.Match) -> str:
        if m.group("keep"):
            return m.group(0)
        passed, name, value = m.group("passed") or "", m.group("name"), m.group("value")
        o = by_name[name]
        if value is None and "_" not in name:
            return m.group(0)
        if front_end == "cli":
            said = _cli_pair(o, value) if value is not None else o.flag
            return passed + said
        label = f"\u201c{o.label}\u201d"
        if value is None:
            return passed + label
        v = _app_value(o, value)
        if passed and o.kind == "bool" and v in ("on", "off"):
            return f"turn {v} {label}"
        return f"set {label} to {v}" if passed else f"{label}: {v}"

    names = set(words) | {n for n in by_name if re.search(rf"(?<![\w.-]){n}=", text)}
    if not names:
        return text
    return _pattern(names).sub(one, text)


def markdown_text(text: str) -> str:
    """``text`` shown literally by a markdown renderer (the App's form
    descriptions and panel messages)."""
    return re.sub(r"([\\*_`#<>\[\]])", r"\\\1", text)
