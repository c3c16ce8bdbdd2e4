"""``python -m bench [--quick] [--database-url URL] [--output PATH]``;
``python -m bench --scale [--factor N] [--tiny] [--remeasure] [--export] [--grow-by N]``
(bench/scale.py)

Creates the benchmark database, fills it, measures, prints one table and
writes it to bench/results/latest.md. Exits 1 if any target is missed or a
measurement broke, after printing the whole table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench import database, report
from bench.report import ERROR, Result

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "latest.md"


@dataclass(frozen=True)
class Sizes:
    """How much each benchmark does, per mode."""

    sweep_due: int
    sweep_repeats: int
    sessions: int
    form_posts: int  # per side, timed
    form_counted: int  # product POSTs more, untimed, their statements counted
    list_requests: int
    rules_cases: int


SIZES = {
    "full": Sizes(sweep_due=2000, sweep_repeats=2, sessions=1000, form_posts=1000,
                  form_counted=1000, list_requests=100, rules_cases=5000),
    "quick": Sizes(sweep_due=800, sweep_repeats=2, sessions=300, form_posts=500,
                   form_counted=300, list_requests=20, rules_cases=3000),
}
# Check-ins due for the delivery through Celery workers (bench/delivery.py), per mode.
DELIVERY_DUE = {"full": 2000, "quick": 400}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true",
                        help="10,000 patients instead of 100,000: under a minute")
    parser.add_argument("--database-url", default=database.DEFAULT_DATABASE_URL,
                        help="PostgreSQL database to DROP and recreate; its name must contain "
                             "'bench' (default %(default)s)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH,
                        help="where to write the markdown table (default bench/results/latest.md)")
    parser.add_argument("--scale", action="store_true",
                        help="every staff page at 1× (100 clinics) and --factor × the network "
                             "(bench/scale.py); default database aftercare_scale_bench")
    parser.add_argument("--factor", type=int, default=10,
                        help="with --scale: how many times the network is copied (default 10)")
    parser.add_argument("--tiny", action="store_true",
                        help="with --scale: 4 clinics and 400 patients (the suite's smoke test)")
    parser.add_argument("--only", choices=["dashboard"],
                        help="with --scale: measure this page of the scale database as it is "
                             "now, without rebuilding it (counted live, then from the "
                             "network's snapshot)")
    parser.add_argument("--remeasure", action="store_true",
                        help="with --scale: measure every page again, with the code as it is "
                             "now, on the 1× copy and the grown database the last --scale run "
                             "left, without rebuilding them")
    parser.add_argument("--grow-by", type=int, metavar="N",
                        help="with --scale: grow the last --scale run's grown database N "
                             "times again (then --remeasure measures it against 1×)")
    parser.add_argument("--export", nargs="*", choices=["answers", "queue"],
                        help="with --scale: build a superuser's year-long export of every "
                             "clinic (the answers, the flags, or both when none is named) on "
                             "the grown database the last --scale run left")
    parser.add_argument("--repeats", type=int, default=15,
                        help="with --only or --remeasure: timed requests per row "
                             "(default %(default)s)")
    return parser.parse_args(argv)


class Progress:
    def __init__(self) -> None:
        self.started = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f} s] {message}", file=sys.stderr,
              flush=True)


def _guarded(operation: str, measure: Callable[[], Result | list[Result]]) -> list[Result]:
    """Run one benchmark; if it breaks, the table still gets its row, marked error."""
    try:
        measured = measure()
    except Exception as error:
        traceback.print_exc()
        return [Result(operation=operation, figure="—", status=ERROR,
                       note=f"{type(error).__name__}: {error}")]
    return measured if isinstance(measured, list) else [measured]


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.scale:
        return _scale(args)
    mode = "quick" if args.quick else "full"
    sizes = SIZES[mode]
    progress = Progress()
    load_before = report.load_average()
    var_dir = tempfile.mkdtemp(prefix="aftercare-bench-")
    database.environment_configure(database_url=args.database_url, var_dir=var_dir)

    progress(f"{mode} run: recreating {database.database_name(args.database_url)}")
    database.database_recreate(args.database_url)
    progress("database created; migrating")
    database.django_start(migrate=True)

    # Imported once Django is set up: they reach the project's models.
    from bench.burden import burden_bench
    from bench.datagen import SCALES, checkins_grow, counts_text, world_generate
    from bench.delivery import DeliveryBench
    from bench.escalation_lists import escalation_lists_bench
    from bench.patient_form import FORM_WARMUP_POSTS, Gunicorn, patient_form_bench
    from bench.rules_engine import rules_bench
    from bench.session_create import session_create_bench
    from bench.sweep import WORKERS, SweepBench, SweepWorkers, checkins_reserve
    from followups.escalations.clusters import escalation_clusters_process

    scale = SCALES[mode]
    rows: dict[str, list[Result]] = {}
    grown = 0
    with SweepWorkers(args.database_url) as workers, \
            Gunicorn(log_path=Path(var_dir) / "gunicorn.log") as server:
        progress(f"generating {scale.patients:,} patients, {scale.sessions:,} sessions")
        world = world_generate(database_url=args.database_url, scale=scale)
        checkins = world.counts["followups_checkin"]
        progress(f"generated {counts_text(world.counts)}")
        with database.connect(args.database_url) as connection:
            due_ids = checkins_reserve(connection, sizes.sweep_due, exclude=[])
            form_ids = checkins_reserve(
                connection, 2 * (FORM_WARMUP_POSTS + sizes.form_posts) + sizes.form_counted,
                exclude=due_ids)

        progress("rules engine")
        rows["rules"] = _guarded("Rules engine", lambda: rules_bench(cases=sizes.rules_cases))
        progress("alert burden (fixed-seed populations through the rules)")
        rows["burden"] = _guarded("Alert burden", burden_bench)
        progress("session create")
        rows["sessions"] = _guarded("Create a session", lambda: session_create_bench(
            world=world, database_url=args.database_url, count=sizes.sessions))

        sweep = SweepBench(workers=workers, database_url=args.database_url, due_ids=due_ids,
                           repeats=sizes.sweep_repeats)
        progress(f"due sweep, {len(due_ids):,} due, {WORKERS} workers")
        rows["sweep"] = _guarded("Due sweep", lambda: sweep.measure_small(table_rows=checkins))

        progress("patient form over HTTP")
        rows["form"] = _guarded("Patient form POST", lambda: patient_form_bench(
            database_url=args.database_url, checkin_ids=form_ids,
            counted=sizes.form_counted, server=server))
        # The form's escalations wait for a sweep to look for clusters; a worker's
        # would have by now. Untimed, so the sweeps below do only their due rows.
        escalation_clusters_process()
        progress("escalation lists")
        rows["lists"] = _guarded("Escalation lists", lambda: escalation_lists_bench(
            world=world, database_url=args.database_url, requests=sizes.list_requests))

        # The sweep's rows, marked due again: the quick data has no more to spare.
        delivery_ids = due_ids[:DELIVERY_DUE[mode]]
        progress(f"check-in delivery, {len(delivery_ids):,} due, Celery workers to SMTP (1, 4)")
        delivery_note = ("" if mode == "full" else
                         f"Quick mode: {len(delivery_ids):,} due, not 2,000.")
        rows["delivery"] = _guarded("Check-in delivery", lambda: DeliveryBench(
            database_url=args.database_url, due_ids=delivery_ids,
            log_dir=Path(var_dir)).measure(note_extra=delivery_note))

        progress(f"growing the check-in table to 10× ({checkins * 10:,} rows)")
        try:
            grown = checkins_grow(database_url=args.database_url)
        except Exception as error:
            traceback.print_exc()
            rows["sweep_big"] = [Result(operation="Due sweep on a 10× table", figure="—",
                                        status=ERROR, note=f"growing failed: {error}")]
        else:
            progress("due sweep on the 10× table")
            rows["sweep_big"] = _guarded("Due sweep on a 10× table",
                                         lambda: sweep.measure_big(table_rows=grown))

    results = [result for key in ("sweep", "sweep_big", "delivery", "sessions", "rules",
                                         "burden", "form", "lists")
               for result in rows.get(key, [])]
    elapsed = time.monotonic() - progress.started
    document = _document(results, mode=mode, world_counts=world.counts, grown=grown,
                         elapsed=elapsed, load=(load_before, report.load_average()),
                         database_url=args.database_url)
    print(report.table_markdown(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(document)
    missed = report.failed(results)
    progress(f"done in {report.duration(elapsed)}; written to {args.output}; "
             + (f"{len(missed)} target(s) missed or broken" if missed else "all targets met"))
    return 1 if missed else 0


def _scale(args: argparse.Namespace) -> int:
    from bench.scale import RESULTS_PATH as SCALE_RESULTS
    from bench.scale import scale_main

    database_url = (args.database_url if args.database_url != database.DEFAULT_DATABASE_URL
                    else database.DEFAULT_DATABASE_URL.replace("aftercare_bench",
                                                                "aftercare_scale_bench"))
    database.environment_configure(database_url=database_url,
                                   var_dir=tempfile.mkdtemp(prefix="aftercare-bench-"))
    if args.only:
        from bench.scale import remeasure_main

        return remeasure_main(database_url=database_url, only=args.only, repeats=args.repeats,
                              progress=Progress())
    output = args.output if args.output != RESULTS_PATH else SCALE_RESULTS
    if args.grow_by:
        from bench.scale import grow_again_main

        return grow_again_main(database_url=database_url, by=args.grow_by,
                               progress=Progress())
    if args.export is not None:
        from bench.scale import export_main

        return export_main(database_url=database_url, whats=args.export or ["answers", "queue"],
                           progress=Progress())
    if args.remeasure:
        from bench.scale import remeasure_all_main

        return remeasure_all_main(database_url=database_url, repeats=args.repeats,
                                  output=output, progress=Progress())
    return scale_main(database_url=database_url, factor=args.factor, tiny=args.tiny,
                      output=output, progress=Progress())


def _document(results: list[Result], *, mode: str, world_counts: dict[str, int], grown: int,
              elapsed: float, load: tuple[str, str], database_url: str) -> str:
    import django
    from django.db import connection

    from bench.datagen import counts_text

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    counts = counts_text(world_counts)
    command = "python -m bench" + (" --quick" if mode == "quick" else "")
    return "\n".join([
        "# Benchmark results",
        "",
        f"- Command: `{command}` ({mode} mode), "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, took {report.duration(elapsed)}",
        f"- Machine: {report.machine_description()}; PostgreSQL {server}; "
        f"Django {django.get_version()}",
        f"- Load average (1/5/15 min) before: {load[0]}; after: {load[1]}",
        f"- Database `{database.database_name(database_url)}`: {counts}; "
        f"10× table: {grown:,} check-ins",
        "",
        report.table_markdown(results),
        "",
        "## Notes",
        "",
        report.notes_markdown(results),
        "",
    ])


if __name__ == "__main__":
    sys.exit(main())
