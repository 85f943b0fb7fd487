"""The side-by-side table: each scenario's headline figures for Prefect and for us, and the ratio.

A run of the benchmark is a list of *server runs*: one server (``prefect`` or ``ours``) on one
backend (``sqlite`` or ``postgres``), one repetition, with the result of every scenario it went
through. Repetitions are reduced to their median; the ratio always reads "how many times better
ours is" (ours / Prefect for throughput, Prefect / ours for times and memory), so above 1 is a win.
Beside the ratio of the medians stands the range of each repetition's own ratio (its two servers
ran one after the other): the machine's speed drifts by tens of percent from one quarter hour to
the next, and the range shows how far one repetition's verdict could differ from another's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .stats import median

SERVERS = {"prefect": "Prefect 3.8.8", "ours": "Orchestrator"}
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}

# One server run: {"server": "ours", "backend": "sqlite", "rep": 1, "scenarios": {name: result}}
ServerRun = dict[str, Any]


def dig(data: Any, path: Iterable[str]) -> Any:
    """data[path[0]][path[1]]..., None where a step is missing."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


@dataclass(frozen=True)
class Metric:
    """One row of the table: a number taken from a server run's results."""

    scenario: str
    label: str
    higher_is_better: bool
    read: Callable[[dict[str, Any]], float | None]
    # Extra figures shown beside the value when they are not zero, e.g. retried requests.
    notes: tuple[tuple[str, Callable[[dict[str, Any]], float | None]], ...] = field(default=())


def from_scenario(scenario: str, *path: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda scenarios: dig(scenarios.get(scenario), path)


def over_scenarios(key: str, combine: Callable[[list[float]], float]) -> Callable[[dict[str, Any]], float | None]:
    """A server-process figure (``server_usage.<key>``) combined over every scenario of the run."""

    def read(scenarios: dict[str, Any]) -> float | None:
        values = [dig(result, ("server_usage", key)) for result in scenarios.values()]
        values = [v for v in values if v is not None]
        return combine(values) if values else None

    return read


def troubles(scenario: str) -> tuple[tuple[str, Callable], ...]:
    return (
        ("retried", from_scenario(scenario, "retried")),
        ("failed", from_scenario(scenario, "failed_requests")),
    )


def read_latency(query: str, label: str) -> Metric:
    return Metric(
        "reads",
        f"{label} p50 ms",
        False,
        from_scenario("reads", "latency", query, "p50_ms"),
        (("p95", from_scenario("reads", "latency", query, "p95_ms")),),
    )


METRICS: list[Metric] = [
    Metric("flows", "wall s", False, from_scenario("flows", "wall_s")),
    Metric("flows", "task runs/s", True, from_scenario("flows", "task_runs_per_s")),
    Metric("flows", "all task runs visible after s", False, from_scenario("flows", "task_runs_visible_after_s")),
    Metric("api_runs", "requests/s", True, from_scenario("api_runs", "requests_per_s"), troubles("api_runs")),
    Metric(
        "api_runs",
        "runs/s",
        True,
        from_scenario("api_runs", "runs_per_s"),
        (("runs failed", from_scenario("api_runs", "failed_runs")),),
    ),
    Metric("logs", "records/s", True, from_scenario("logs", "records_per_s"), troubles("logs")),
    read_latency("POST /flow_runs/filter [limit 50]", "filter"),
    read_latency("POST /flow_runs/count [COMPLETED]", "count"),
    read_latency("POST /flow_runs/history [24 h]", "history 24 h"),
    read_latency("POST /ui/flow_runs/history [7 d]", "UI history 7 d"),
    Metric(
        "deployments",
        "create_flow_run/s",
        True,
        from_scenario("deployments", "creates_per_s"),
        (*troubles("deployments"), ("runs failed", from_scenario("deployments", "failed_runs"))),
    ),
    Metric("server", "peak RSS MB (tree)", False, over_scenarios("rss_peak_mb", max)),
    Metric("server", "CPU s (all scenarios)", False, over_scenarios("cpu_s", sum)),
]


def ratio(prefect: float | None, ours: float | None, higher_is_better: bool) -> float | None:
    """How many times better ours is; None when either side is missing or zero."""
    if prefect is None or ours is None or prefect <= 0 or ours <= 0:
        return None
    return ours / prefect if higher_is_better else prefect / ours


def format_number(value: float | None) -> str:
    """Whole numbers as such, few digits for big numbers, more for small ones, thousands separated."""
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:,.2f}"


def format_ratio(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}×" if value >= 10 else f"{value:,.2f}×"


@dataclass
class Cell:
    value: float | None
    notes: list[str]
    verify_failures: int = 0
    reps: int = 0

    def render(self) -> str:
        if not self.reps:
            return "not run"
        text = format_number(self.value)
        notes = list(self.notes)
        if self.verify_failures:
            notes.append(f"verify failed in {self.verify_failures} of {self.reps}")
        return f"{text} ({', '.join(notes)})" if notes else text


def cell(metric: Metric, runs: list[ServerRun]) -> Cell:
    """The metric over the repetitions of one server on one backend (their median)."""
    ran = [run for run in runs if metric.scenario == "server" or metric.scenario in run["scenarios"]]
    value = median(metric.read(run["scenarios"]) for run in ran)
    notes = []
    for label, read in metric.notes:
        note = median(read(run["scenarios"]) for run in ran)
        if note:
            notes.append(f"{format_number(note)} {label}" if label != "p95" else f"p95 {format_number(note)}")
    failures = 0
    if metric.scenario != "server":
        failures = sum(1 for run in ran if dig(run["scenarios"][metric.scenario], ("verify", "ok")) is False)
    return Cell(value, notes, failures, len(ran))


@dataclass
class Row:
    metric: Metric
    prefect: Cell
    ours: Cell
    # Each repetition's own ratio, in repetition order (those where both servers have the figure).
    rep_ratios: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return ratio(self.prefect.value, self.ours.value, self.metric.higher_is_better)

    def render_ratio(self) -> str:
        text = format_ratio(self.ratio)
        if self.ratio is not None and len(self.rep_ratios) > 1:
            low, high = format_ratio(min(self.rep_ratios)), format_ratio(max(self.rep_ratios))
            if low != high:
                text += f" ({low.rstrip('×')}–{high} by rep)"
        return text


def rep_ratios(metric: Metric, prefect_runs: list[ServerRun], our_runs: list[ServerRun]) -> list[float]:
    """The metric's ratio within each repetition both servers ran."""
    out = []
    for rep in sorted({run["rep"] for run in our_runs} & {run["rep"] for run in prefect_runs}):
        prefect = cell(metric, [run for run in prefect_runs if run["rep"] == rep])
        ours = cell(metric, [run for run in our_runs if run["rep"] == rep])
        value = ratio(prefect.value, ours.value, metric.higher_is_better)
        if value is not None:
            out.append(value)
    return out


def rows(runs: list[ServerRun], backend: str) -> list[Row]:
    """The table's rows for one backend, skipping scenarios neither server ran."""
    on_backend = [run for run in runs if run["backend"] == backend]
    by_server = {name: [run for run in on_backend if run["server"] == name] for name in SERVERS}
    out = []
    for metric in METRICS:
        prefect, ours = cell(metric, by_server["prefect"]), cell(metric, by_server["ours"])
        if prefect.value is None and ours.value is None and metric.scenario != "server":
            if not any(metric.scenario in run["scenarios"] for run in on_backend):
                continue
        out.append(Row(metric, prefect, ours, rep_ratios(metric, by_server["prefect"], by_server["ours"])))
    return out


def markdown_table(backend: str, table_rows: list[Row]) -> str:
    lines = [
        f"### {BACKENDS.get(backend, backend)}",
        "",
        f"| scenario | metric | {SERVERS['prefect']} | {SERVERS['ours']} | ours vs Prefect |",
        "|---|---|---:|---:|---:|",
    ]
    for row in table_rows:
        lines.append(
            f"| {row.metric.scenario} | {row.metric.label} | {row.prefect.render()} | {row.ours.render()} "
            f"| {row.render_ratio()} |"
        )
    return "\n".join(lines)


def render(runs: list[ServerRun]) -> str:
    """Every backend's table, in a fixed order, separated by blank lines."""
    present = [backend for backend in BACKENDS if any(run["backend"] == backend for run in runs)]
    return "\n\n".join(markdown_table(backend, rows(runs, backend)) for backend in present)


def summary(runs: list[ServerRun]) -> dict[str, Any]:
    """The table as data (for summary.json): backend -> metric -> server -> value, plus ratio."""
    out: dict[str, Any] = {}
    for backend in BACKENDS:
        if not any(run["backend"] == backend for run in runs):
            continue
        out[backend] = {
            f"{row.metric.scenario}: {row.metric.label}": {
                "prefect": row.prefect.value,
                "ours": row.ours.value,
                "ratio": None if row.ratio is None else round(row.ratio, 3),
                "rep_ratios": [round(value, 3) for value in row.rep_ratios],
                "higher_is_better": row.metric.higher_is_better,
            }
            for row in rows(runs, backend)
        }
    return out
