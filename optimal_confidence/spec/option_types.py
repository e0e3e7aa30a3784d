"""The types of the option spec: :class:`Option`, :class:`Choice`,
:class:`OptionError` and the conditions :data:`ON` and :data:`OFF`.

The table of options and their checks are in
:mod:`optimal_confidence.spec.options`, which re-exports these names.

Pure Python: nothing here imports FiftyOne or numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

__all__ = ["OFF", "ON", "TASKS", "Choice", "Option", "OptionError"]

#: the tasks a sweep can be: detections (``Detections``/``Polylines``), a
#: binary classifier (``positive_label``) and a multiclass classifier that
#: escalates uncertain answers
TASKS = ("detection", "binary", "multiclass")

_ALL = frozenset(TASKS)


class OptionError(ValueError):
    """A bad value of an option, or a bad combination of options.

    Attributes:
        option: the name of the option the message is about (the field a
            form marks invalid)
    """

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option = option


@dataclass(frozen=True)
class Choice:
    """One value of a ``"choice"`` option, with its label and description
    in the form, and the tasks it applies to."""

    value: str
    label: str
    description: str = ""
    tasks: frozenset[str] = _ALL
    #: what to use instead on the tasks it does not apply to
    instead: str = ""


@dataclass(frozen=True)
class Option:
    """One option of a run.

    Attributes:
        name: the keyword of ``compute_optimal_confidence`` and the form's
            param name
        kind: ``"field"`` (a label field name), ``"fields"`` (a list of
            them), ``"float"``, ``"int"``, ``"bool"``, ``"choice"``,
            ``"str"``, ``"run_key"`` (a valid identifier), ``"new_key"`` (a
            valid identifier for something to create) or ``"eval_key"`` (an
            evaluation of the dataset)
        group: a key of :data:`GROUPS`
        label: the form's label
        help: one line for ``--help`` and the form's description
        default: the default value (``None`` means the option is not set,
            see ``none``)
        none: what ``None`` means, for options that accept it; ``""`` for
            options that do not
        tasks: the tasks the option applies to (:data:`TASKS`)
        choices: the values of a ``"choice"`` option
        low, high: the range of a number; ``None`` for no bound
        low_open, high_open: whether the bound itself is excluded
        when: when the form shows the option and ``execute`` reads its
            param: alternatives, each a mapping of other options to the
            values they must have (a tuple of values, :data:`ON` for
            given or :data:`OFF` for not given); ``()`` for always
        form_default: the value the form starts with when it differs from
            ``default`` (``iou``: 0.5 where ``None`` means "0.5, or the
            evaluation's")
        cli: the command-line flag; ``""`` for none
        cli_flag: for a flag without an argument, the value it sets
        cli_help: the flag's help where it differs from ``help`` (a flag
            that turns an option off)
        limit: why the range stops where it does, said with the error
        cli_extra: an option the flag's repeats go to (``--pred a --pred
            b``: ``b`` is compared with ``a``)
        metavar: the argument's name in ``--help``
    """

    name: str
    kind: str
    group: str
    label: str
    help: str
    default: Any = None
    none: str = ""
    tasks: frozenset[str] = _ALL
    choices: tuple[Choice, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    when: tuple[Mapping[str, Any], ...] = ()
    form_default: Any = None
    cli: str | None = None
    cli_flag: Any = None
    cli_help: str = ""
    metavar: str | None = None
    limit: str = ""
    cli_extra: str = ""
    #: the defaults of the options :attr:`when` names, for values not given
    #: (filled in by :func:`with_when_defaults` once the table is built)
    when_defaults: tuple[tuple[str, Any], ...] = ()

    @property
    def flag(self) -> str:
        """The command-line flag (``--lower-bound`` for ``lower_bound``)."""
        return self.cli if self.cli is not None else "--" + self.name.replace("_", "-")

    @property
    def nullable(self) -> bool:
        return bool(self.none)

    @property
    def initial(self) -> Any:
        """The value the form starts with."""
        return self.default if self.form_default is None else self.form_default

    def shown(self, values: Mapping[str, Any], task: str | None = None) -> bool:
        """Whether the option applies, given the task and the other values
        (a form shows it and ``execute`` reads its param)."""
        if task is not None and task not in self.tasks:
            return False
        if not self.when:
            return True
        defaults = dict(self.when_defaults)
        return any(
            all(_holds(c, values.get(k, defaults.get(k))) for k, c in alt.items())
            for alt in self.when
        )

    def range_text(self) -> str:
        """The valid range in words, e.g. ``"in (0, 1]"``, ``"at least 1"``."""
        lo, hi = self.low, self.high
        if self.kind == "int" and lo is not None and hi is not None:
            return f"at least {int(lo)} and at most {int(hi):,}"
        if lo is not None and hi is not None:
            return (
                f"in {'(' if self.low_open else '['}{lo:g}, {hi:g}"
                f"{')' if self.high_open else ']'}"
            )
        if lo is not None:
            return f"{'above' if self.low_open else 'at least'} {lo:g}"
        if hi is not None:
            return f"{'below' if self.high_open else 'at most'} {hi:g}"
        return ""

    def in_range(self, x: float) -> bool:
        if self.low is not None and (x <= self.low if self.low_open else x < self.low):
            return False
        if self.high is not None and (x >= self.high if self.high_open else x > self.high):
            return False
        return True

    def example(self) -> Any:
        """A valid value other than the default (for tests and docs)."""
        if self.kind == "choice":
            return next(c.value for c in self.choices if c.value != self.default)
        if self.kind == "bool":
            return not self.initial
        if self.kind == "fields":
            return ["example"]
        if self.kind in ("float", "int"):
            lo, hi = self.low, self.high
            x = (lo + hi) / 2 if lo is not None and hi is not None else (lo or 0) + 2
            return int(x) if self.kind == "int" else float(x)
        return "example"

    def bad_values(self) -> list[Any]:
        """Values the checks refuse (for tests of every front end)."""
        if self.kind == "choice":
            return ["nope"]
        if self.kind == "new_key":
            return ["not valid", "_private"] if self.metavar == "FIELD" else ["not valid"]
        if self.kind in ("float", "int"):
            out = []
            if self.low is not None:
                out.append(self.low if self.low_open else self.low - 1)
            if self.high is not None:
                out.append(self.high + 1 if self.high >= 1 else self.high * 2 + 0.5)
            return [int(v) if self.kind == "int" else float(v) for v in out]
        if self.kind == "run_key":
            return ["not valid"]
        return []


#: in :attr:`Option.when`: the option is given (not None, "" or False)
ON = "<on>"
#: in :attr:`Option.when`: the option is not given (None or "")
OFF = "<off>"


def _holds(condition: Any, value: Any) -> bool:
    if condition == ON:
        return value not in (None, "", False)
    if condition == OFF:
        return value in (None, "")
    return value in condition


def with_when_defaults(options: tuple[Option, ...]) -> tuple[Option, ...]:
    """The table with each option's :attr:`Option.when_defaults`: the
    defaults of the options its conditions name."""
    defaults = {o.name: o.default for o in options}
    return tuple(
        replace(o, when_defaults=tuple((k, defaults[k]) for alt in o.when for k in alt))
        if o.when else o
        for o in options
    )
