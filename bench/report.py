"""The results table: each measurement, its baseline, its target, and the verdict.

Pure Python, no Django: the smoke test checks the verdicts and the formatting
without a database.
"""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field

PASS, FAIL, PENDING, ERROR = "pass", "FAIL", "pending", "error"
# A figure shown for reference (e.g. an older, looser baseline): no target, never judged.
INFO = "info"
COLUMNS = ("operation", "figure", "baseline", "ratio", "target", "pass/fail")


@dataclass(frozen=True)
class Target:
    """``value <op> limit``, e.g. a ratio of at least 0.3 or at most 1.5."""

    op: str
    limit: float
    unit: str = "×"

    def __post_init__(self) -> None:
        if self.op not in (">=", "<="):
            raise ValueError(f"a target is >= or <=, not {self.op!r}")

    def met(self, value: float) -> bool:
        return value >= self.limit if self.op == ">=" else value <= self.limit

    def __str__(self) -> str:
        sign = "≥" if self.op == ">=" else "≤"
        unit = self.unit if self.unit == "×" else f" {self.unit}"
        return f"{sign} {self.limit:g}{unit}"


@dataclass
class Result:
    """One row of the table.

    ``value`` is what the target is checked against: the ratio for a
    comparison with a baseline, the figure itself otherwise. ``checks`` are
    further conditions, named as the table shows them (e.g. "0 queries"),
    each with whether it held. ``status`` overrides the verdict: pending
    (the code measured has not landed), error (the measurement broke) or
    info (a reference figure, see ``informational``).
    """

    operation: str
    figure: str
    baseline: str = "—"
    ratio: float | None = None
    target: Target | None = None
    value: float | None = None
    checks: list[tuple[str, bool]] = field(default_factory=list)
    status: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        if self.value is None:
            self.value = self.ratio

    @property
    def verdict(self) -> str:
        if self.status is not None:
            return self.status
        if self.target is not None and (self.value is None or not self.target.met(self.value)):
            return FAIL
        if not all(held for _, held in self.checks):
            return FAIL
        return PASS

    @property
    def target_text(self) -> str:
        parts = [str(self.target)] if self.target is not None else []
        parts += [name for name, _ in self.checks]
        return ", ".join(parts) or "—"

    def cells(self) -> tuple[str, ...]:
        ratio = ("—" if self.ratio is None
                 else f"{self.ratio:.2f}×" if self.ratio >= 0.1 else f"{self.ratio:.3f}×")
        return (self.operation, self.figure, self.baseline, ratio, self.target_text,
                self.verdict)


def informational(operation: str, figure: str, *, ratio: float | None = None,
                  note: str = "") -> Result:
    """A row shown for reference only: target "—", verdict "info", never a failure."""
    return Result(operation=operation, figure=figure, ratio=ratio, status=INFO, note=note)


def failed(results: list[Result]) -> list[Result]:
    """The rows that make the run fail: a missed target or a broken measurement."""
    return [result for result in results if result.verdict in (FAIL, ERROR)]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table_markdown(results: list[Result]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(cell) for cell in result.cells()) + " |"
              for result in results]
    return "\n".join(lines)


def notes_markdown(results: list[Result]) -> str:
    return "\n".join(f"- **{result.operation}**: {result.note}"
                     for result in results if result.note)


# Figures ---------------------------------------------------------------------------------

def per_second(count: float, seconds: float, unit: str) -> str:
    return f"{count / seconds:,.0f} {unit}/s" if seconds > 0 else f"∞ {unit}/s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


QUERY_KINDS = (
    # (how the SQL starts, what to call it): the first match wins
    ('SELECT 1 AS "_check"', "check-constraint validations"),
    ('SELECT 1 AS "a"', "foreign-key existence checks"),
    ("SAVEPOINT", "savepoints"),
    ("RELEASE SAVEPOINT", "savepoints"),
    ("SELECT", "other SELECTs"),
)


def queries_summary(queries: list[dict]) -> str:
    """Captured queries counted by kind, e.g. "1 BEGIN, 10 savepoints, 2 INSERT"."""
    kinds: dict[str, int] = {}
    for query in queries:
        sql = query["sql"].lstrip()
        kind = next((name for start, name in QUERY_KINDS if sql.startswith(start)),
                    sql.split(" ", 1)[0])
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{count} {kind}" for kind, count in kinds.items())


# The machine -------------------------------------------------------------------------------

def machine_description() -> str:
    memory = "?"
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {memory}, Python {platform.python_version()}"


def load_average() -> str:
    try:
        return " / ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "?"
