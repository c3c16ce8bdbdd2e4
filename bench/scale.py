"""``python -m bench --scale``: every staff page as the network grows from 1× to N×.

1× is the generator's world (``SCALE``: 100 clinics, 100,000 patients, a
year of sessions and their check-ins, answers and escalations). N× adds
N - 1 shifted copies of every clinic with all its rows, made inside
PostgreSQL (``INSERT … SELECT`` over ``generate_series``, one statement per
table, indexes rebuilt once afterwards): the same data per clinic, N times
the clinics. Each page is requested in-process through Django's test client
and the whole middleware stack, signed in (password and second factor) as
three people:

- ``clinic``: the desk user of one clinic, whose data does not change with N;
- ``network``: a superuser, who sees every clinic;
- ``group``: a staff member of 20 clinics.

Each row: p50 and p95 at 1× and N×, the statements one request runs at each,
and the N×/1× ratio of the p50. Targets: every ratio ≤ 1.5, every p95 at N×
≤ 500 ms, statements the same at both sizes. The table is printed and
written to ``bench/results/scale.md``; nothing generated is kept in the repository.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import percentile

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "scale.md"
TARGET_RATIO = 1.5
TARGET_P95_MS = 500.0
GROUP_CLINICS = 20
DEEP_ROWS = 5_000  # how far into a list "deep" is

# The tables a clinic's data lives in, in the order they are copied, with the
# id columns that point at another copied table (shifted with it).
COPIED = (
    ("patients_clinic", {}),
    ("patients_patient", {"clinic_id": "patients_clinic"}),
    ("patients_treatmentsession", {"patient_id": "patients_patient"}),
    ("patients_productapplication", {"session_id": "patients_treatmentsession"}),
    ("followups_checkin", {"session_id": "patients_treatmentsession",
                           "clinic_id": "patients_clinic"}),
    ("followups_checkinresponse", {"checkin_id": "followups_checkin",
                                   "clinic_id": "patients_clinic"}),
    ("followups_escalation", {"patient_id": "patients_patient",
                              "session_id": "patients_treatmentsession",
                              "checkin_id": "followups_checkin",
                              "response_id": "followups_checkinresponse",
                              "clinic_id": "patients_clinic"}),
)


@dataclass
class Row:
    user: str
    page: str
    p50: dict[int, float] = field(default_factory=dict)
    p95: dict[int, float] = field(default_factory=dict)
    statements: dict[int, int] = field(default_factory=dict)
    status: dict[int, int] = field(default_factory=dict)

    def ratio(self, small: int, big: int) -> float | None:
        if small in self.p50 and big in self.p50 and self.p50[small] > 0:
            return self.p50[big] / self.p50[small]
        return None

    def passed(self, small: int, big: int) -> bool:
        ratio = self.ratio(small, big)
        return (ratio is not None and ratio <= TARGET_RATIO
                and self.p95[big] <= TARGET_P95_MS
                and self.statements.get(small) == self.statements.get(big)
                and self.status.get(big) == 200)


# Growing the network ---------------------------------------------------------------------


def network_grow(*, database_url: str, factor: int) -> dict[str, int]:
    """Add ``factor - 1`` shifted copies of every clinic and its rows; return the row counts.

    Copy k of a row has the id ``id + k × max(id)`` and points at copy k of
    its clinic, patient, session, check-in and answers. A clinic's name gets
    `` ·`` and its new id; patients' emails get their new id and ``.`` in front
    (unique however often the network is grown; names are kept, so a search
    finds N times the patients, as it would in a real network).
    """
    from bench.database import connect
    from bench.datagen import _foreign_key_triggers_skip, _secondary_indexes_dropped

    tables = [table for table, _ in COPIED]
    with connect(database_url, autocommit=False) as connection, \
            _secondary_indexes_dropped(connection, tables):
        _foreign_key_triggers_skip(connection)
        tops = {table: connection.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
                .fetchone()[0] for table in tables}
        for table, pointers in COPIED:
            columns = [name for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position", [table])]
            selected = []
            for column in columns:
                if column == "id":
                    selected.append(f"t.id + k * {int(tops[table])}")
                elif column in pointers:
                    selected.append(f"t.{column} + k * {int(tops[pointers[column]])}")
                elif table == "patients_clinic" and column == "name":
                    selected.append(f"t.name || ' ·' || (t.id + k * {int(tops[table])})")
                elif table == "patients_patient" and column == "email":
                    selected.append(f"(t.id + k * {int(tops[table])}) || '.' || t.email")
                else:
                    selected.append(f"t.{column}")
            connection.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"SELECT {', '.join(selected)} FROM {table} t "
                f"CROSS JOIN generate_series(1, %s) k WHERE t.id <= %s",
                [factor - 1, tops[table]])
        for table in tables:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))")
        connection.commit()
    with connect(database_url) as connection:
        for table in tables:
            # As autovacuum would after so many inserts: index-only scans see the
            # copies' pages as all-visible.
            connection.execute(f"VACUUM ANALYZE {table}")
        return {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in tables}


# Measuring -------------------------------------------------------------------------------


def _people(world):
    """The three signed-in clients: a clinic's desk user, a superuser, a 20-clinic member."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from bench.escalation_lists import CLIENT_ADDRESS, _sign_in
    from patients.models import ClinicMembership

    User = get_user_model()
    desk = User.objects.get(pk=world.staff_ids[world.measured_clinic_id])
    superuser = User.objects.create(username="bench-superuser", is_staff=True,
                                    is_superuser=True, password="!bench")
    group_user = User.objects.create(username="bench-group", is_staff=True, password="!bench")
    group_user.user_permissions.add(*desk.user_permissions.all())
    for group in Group.objects.filter(user=desk):
        group_user.groups.add(group)
    ClinicMembership.objects.bulk_create(
        ClinicMembership(user=group_user, clinic_id=clinic_id)
        for clinic_id in world.clinic_ids[:GROUP_CLINICS])
    people = {}
    for name, user in (("clinic", desk), ("network", superuser), ("group", group_user)):
        client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=CLIENT_ADDRESS)
        _sign_in(client, user)
        people[name] = (client, user)
    return people


def _deep_cursor(user) -> str:
    """A cursor DEEP_ROWS check-ins into the user's list, as following ``next`` would reach."""
    from followups.selectors import checkins_for_user

    rows = list(checkins_for_user(user).order_by("due_at", "id")
                .values_list("due_at", "id")[DEEP_ROWS:DEEP_ROWS + 1])
    if not rows:
        rows = list(checkins_for_user(user).order_by("-due_at", "-id")
                    .values_list("due_at", "id")[:1])
    due_at, pk = rows[0]
    payload = json.dumps({"values": [due_at.isoformat(), pk], "reverse": False},
                         separators=(",", ":"))
    return base64.b64encode(payload.encode()).decode()


def _pages(world, user) -> list[tuple[str, Callable[[], str]]]:
    """(name, path) of every page measured; paths computed before any timing."""
    from patients.models import Patient

    patient = Patient.objects.filter(clinic_id=world.measured_clinic_id).order_by("id").first()
    surname = patient.last_name if patient else "Martin"
    cursor = _deep_cursor(user)
    return [
        ("dashboard", "/admin/"),
        ("queue", "/admin/followups/escalation/"),
        ("check-ins", "/admin/followups/checkin/"),
        ("check-ins ?due=today", "/admin/followups/checkin/?due=today"),
        ("check-ins ?status=sent", "/admin/followups/checkin/?status__exact=sent"),
        ("patients", "/admin/patients/patient/"),
        ("patients ?open_level=review", "/admin/patients/patient/?open_level=review"),
        ("patients search", f"/admin/patients/patient/?q={surname}"),
        ("check-ins search", f"/admin/followups/checkin/?q={surname}"),
        ("a patient's page", f"/admin/patients/patient/{patient.pk}/change/"),
        ("API check-ins page 1", "/api/checkins/"),
        ("API check-ins deep", f"/api/checkins/?cursor={cursor}"),
        ("API escalations page 1", "/api/escalations/"),
        ("API patients page 1", "/api/patients/"),
    ]


def _measure(client, path: str, repeats: int) -> tuple[float, float, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path)  # warm
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    # Counted now: the next request's request_started signal empties the log.
    statements = len(captured)
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - start) * 1000)
    if not timings:  # counted only
        return 0.0, 0.0, statements, response.status_code
    return percentile(timings, 0.5), percentile(timings, 0.95), statements, response.status_code


def measure(*, world, people, size: int, repeats: int, rows: dict[tuple[str, str], Row],
            progress) -> None:
    for who, (client, user) in people.items():
        for page, path in _pages(world, user):
            p50, p95, statements, status = _measure(client, path, repeats)
            row = rows.setdefault((who, page), Row(user=who, page=page))
            row.p50[size], row.p95[size] = p50, p95
            row.statements[size], row.status[size] = statements, status
        progress(f"{size}×: measured as {who}")


def _verdict(row: Row, small: int, big: int) -> str:
    answered = {row.status.get(small), row.status.get(big)} - {200}
    if answered:
        return f"MISSED (HTTP {', '.join(str(status) for status in sorted(answered))})"
    return "met" if row.passed(small, big) else "MISSED"


def table_markdown(rows: list[Row], small: int, big: int) -> str:
    lines = [f"| user | page | {small}× p50 | {small}× p95 | {big}× p50 | {big}× p95 | "
             f"statements {small}× / {big}× | ratio | target |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        ratio = row.ratio(small, big)
        lines.append(
            f"| {row.user} | {row.page} | {row.p50.get(small, 0):.0f} ms | "
            f"{row.p95.get(small, 0):.0f} ms | {row.p50.get(big, 0):.0f} ms | "
            f"{row.p95.get(big, 0):.0f} ms | {row.statements.get(small, '–')} / "
            f"{row.statements.get(big, '–')} | "
            f"{'–' if ratio is None else f'{ratio:.2f}×'} | "
            f"{_verdict(row, small, big)} |")
    return "\n".join(lines)


def scale_main(*, database_url: str, factor: int, tiny: bool, output: Path, progress) -> int:
    from bench import database

    database.database_recreate(database_url)
    progress(f"scale run: {database.database_name(database_url)} created; migrating")
    database.django_start(migrate=True)
    from bench.datagen import SCALES, counts_text, world_generate

    scale = SCALES["scale-tiny" if tiny else "scale"]
    progress(f"generating 1×: {scale.clinics} clinics, {scale.patients:,} patients")
    world = world_generate(database_url=database_url, scale=scale)
    progress(f"generated {counts_text(world.counts)}")
    with database.connect(database_url) as connection:
        connection.execute("ANALYZE")
    people = _people(world)
    repeats = 3 if tiny else 15
    rows: dict[tuple[str, str], Row] = {}
    snapshot_note = {1: _snapshot_refresh(progress)}
    measure(world=world, people=people, size=1, repeats=repeats, rows=rows, progress=progress)
    copy = database.database_copy(database_url, suffix=ONE_X_SUFFIX)
    progress(f"1× kept as {copy} (--remeasure measures it again)")
    progress(f"growing the network to {factor}× inside PostgreSQL")
    started = time.monotonic()
    counts = network_grow(database_url=database_url, factor=factor)
    grown_in = time.monotonic() - started
    progress(f"grown in {grown_in:.0f} s: {counts}")
    snapshot_note[factor] = _snapshot_refresh(progress)
    measure(world=world, people=people, size=factor, repeats=repeats, rows=rows,
            progress=progress)
    return _report(rows=rows, factor=factor, output=output, progress=progress, header=[
        f"- 1×: {counts_text(world.counts)}",
        f"- {factor}×: " + ", ".join(f"{table} {count:,}" for table, count in counts.items()),
        f"- {factor}× built in {grown_in:.0f} s; {repeats} timed requests a page, "
        "in-process (Django's test client, the whole middleware stack)",
        f"- the network's dashboard snapshot (a periodic task) counted in "
        f"{snapshot_note[1]:.1f} s at 1×, {snapshot_note[factor]:.1f} s at {factor}×"])


ONE_X_SUFFIX = "_1x"


def _snapshot_refresh(progress) -> float:
    """Count the dashboard snapshots as the periodic task would; return how long it took."""
    from followups.desk.snapshot import dashboard_snapshots_refresh

    started = time.perf_counter()
    dashboard_snapshots_refresh()
    took = time.perf_counter() - started
    progress(f"dashboard snapshots counted in {took:.1f} s")
    return took


def _report(*, rows: dict[tuple[str, str], Row], factor: int, output: Path, progress,
            header: list[str]) -> int:
    ordered = list(rows.values())
    table = table_markdown(ordered, 1, factor)
    print(table)
    missed = [row for row in ordered if not row.passed(1, factor)]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("\n".join([f"# Scale: 1× and {factor}×", "", *header, "", table, ""]))
    progress(f"{len(missed)} row(s) missed" if missed else "every row met its target")
    return 1 if missed else 0


def remeasure_all_main(*, database_url: str, repeats: int, output: Path, progress) -> int:
    """Measure every page again, with the code as it is now, on the two databases the last
    ``--scale`` run left: its 1× copy (``<name>_1x``) and the grown one.

    Interleaved request by request: one open connection to each database,
    and each timed request at 1× is followed by the same request at N×, so
    that both sizes meet the same moments of a shared machine (its other
    work, its caches) rather than one size its quiet minutes and the other
    its busy ones.
    """
    from django.db import connections

    from bench import database

    database.django_start(migrate=False)
    from patients.models import Clinic

    name = database.database_name(database_url)
    small, big = name + ONE_X_SUFFIX, name
    template = connections["default"]
    wrappers = {database_name: template.__class__({**template.settings_dict,
                                                   "NAME": database_name}, "default")
                for database_name in (small, big)}

    def use(database_name: str) -> None:
        connections["default"] = wrappers[database_name]

    clinics, snapshot_seconds, people, pages = {}, {}, {}, {}
    for database_name in (small, big):
        use(database_name)
        clinics[database_name] = Clinic.objects.count()
        snapshot_seconds[database_name] = _snapshot_refresh(progress)
        people[database_name] = _people_existing()
        world = _World.existing()
        pages[database_name] = {who: _pages(world, user)
                                for who, (_client, user) in people[database_name].items()}
    factor = max(1, round(clinics[big] / clinics[small]))
    sizes = {small: 1, big: factor}
    progress(f"{clinics[small]:,} and {clinics[big]:,} clinics (1× and {factor}×)")
    rows: dict[tuple[str, str], Row] = {}
    for who in people[small]:
        for index, (page, _path) in enumerate(pages[small][who]):
            row = rows.setdefault((who, page), Row(user=who, page=page))
            timings: dict[str, list[float]] = {small: [], big: []}
            for database_name in (small, big):  # warm, and count the statements
                use(database_name)
                client, _user = people[database_name][who]
                path = pages[database_name][who][index][1]
                _p50, _p95, statements, status = _measure(client, path, 0)
                row.statements[sizes[database_name]] = statements
                row.status[sizes[database_name]] = status
            for _ in range(repeats):
                for database_name in (small, big):
                    use(database_name)
                    client, _user = people[database_name][who]
                    path = pages[database_name][who][index][1]
                    started = time.perf_counter()
                    client.get(path)
                    timings[database_name].append((time.perf_counter() - started) * 1000)
            for database_name, measured in timings.items():
                size = sizes[database_name]
                row.p50[size] = percentile(measured, 0.5)
                row.p95[size] = percentile(measured, 0.95)
        progress(f"measured as {who}")
    return _report(rows=rows, factor=factor, output=output, progress=progress, header=[
        f"- measured again on the databases of the last `--scale` run: "
        f"{clinics[small]:,} and {clinics[big]:,} clinics; {repeats} timed requests a page "
        "at each size, alternating 1× and the grown network request by request, in-process "
        "(Django's test client, the whole middleware stack)",
        f"- the dashboard snapshots (a periodic task) counted in "
        f"{snapshot_seconds[small]:.1f} s at 1×, {snapshot_seconds[big]:.1f} s at {factor}×"])


@dataclass
class _World:
    """What ``_pages`` needs of a world already in the database."""
    measured_clinic_id: int

    @classmethod
    def existing(cls) -> _World:
        from patients.models import Clinic

        return cls(measured_clinic_id=Clinic.objects.order_by("id").values_list(
            "id", flat=True)[0])


# Measuring again, without rebuilding ------------------------------------------------------


def _people_existing():
    """The three signed-in clients of an already built scale database (``_people`` made them)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.escalation_lists import CLIENT_ADDRESS, _sign_in
    from patients.models import Clinic, ClinicMembership

    User = get_user_model()
    first_clinic = Clinic.objects.order_by("id").values_list("id", flat=True)[0]
    desk_id = (ClinicMembership.objects.filter(clinic_id=first_clinic)
               .exclude(user__username__startswith="bench-")
               .order_by("user_id").values_list("user_id", flat=True)[0])
    people = {}
    for name, user in (("clinic", User.objects.get(pk=desk_id)),
                       ("network", User.objects.get(username="bench-superuser")),
                       ("group", User.objects.get(username="bench-group"))):
        client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR=CLIENT_ADDRESS)
        _sign_in(client, user)
        people[name] = (client, user)
    return people


def remeasure_main(*, database_url: str, only: str, repeats: int, progress) -> int:
    """Measure the dashboard of an existing scale database, as it is, twice: every figure
    counted live, then with the network's snapshot (``followups.desk.snapshot``) in place."""
    from bench import database

    if only != "dashboard":
        raise SystemExit("--only takes: dashboard")
    database.django_start(migrate=False)
    from followups.desk.snapshot import dashboard_snapshots_refresh
    from followups.models import DashboardSnapshot
    from patients.models import Clinic

    clinics = Clinic.objects.count()
    people = _people_existing()
    lines = [f"{clinics:,} clinics, {repeats} timed requests each",
             "| user | dashboard | p50 | p95 | statements |", "|---|---|---|---|---|"]
    for label in ("counted live", "network snapshot"):
        DashboardSnapshot.objects.all().delete()
        if label == "network snapshot":
            started = time.perf_counter()
            dashboard_snapshots_refresh()
            progress(f"dashboard snapshots counted in {time.perf_counter() - started:.1f} s")
        for who, (client, _user) in people.items():
            p50, p95, statements, status = _measure(client, "/admin/", repeats)
            if status != 200:
                raise SystemExit(f"{who}: the dashboard answered {status}")
            lines.append(f"| {who} | {label} | {p50:.0f} ms | {p95:.0f} ms | {statements} |")
            progress(f"{who}, {label}: {p50:.0f} / {p95:.0f} ms, {statements} statements")
    print("\n".join(lines))
    return 0


# A year's export of the whole network ------------------------------------------------------


def export_main(*, database_url: str, whats: list[str], progress) -> int:
    """Build, as the worker does, a superuser's export of a year of every clinic's answers and
    flags on the grown database the last ``--scale`` run left; print rows, size, time and the
    process's peak memory."""
    import resource
    from datetime import timedelta

    from bench import database

    database.django_start(migrate=False)
    from django.contrib.auth import get_user_model
    from django.core.files.storage import default_storage

    from followups.delivery.clock import database_now
    from followups.desk.exports import export_build, export_request
    from patients.models import Clinic

    user = get_user_model().objects.get(username="bench-superuser")
    end = database_now().date()
    start = end - timedelta(days=364)
    clinics = Clinic.objects.count()
    lines = [f"{clinics:,} clinics, {start} to {end}, as a superuser, built in-process as "
             "the worker builds it",
             "| export | rows | file | time | peak memory (whole process) |",
             "|---|---|---|---|---|"]
    for what in whats:
        export = export_request(user=user, what=what, clinic=None, start=start, end=end)
        started = time.perf_counter()
        built = export_build(export_id=export.pk)
        took = time.perf_counter() - started
        if built is None or built.status != built.Status.READY:
            raise SystemExit(f"the {what} export did not complete")
        size = default_storage.size(built.file.name)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines.append(f"| {what} | {built.rows:,} | {size / 1e6:,.0f} MB | {took:,.0f} s | "
                     f"{peak:,.0f} MB |")
        progress(f"{what}: {built.rows:,} rows, {size / 1e6:,.0f} MB in {took:,.0f} s")
        default_storage.delete(built.file.name)
    print("\n".join(lines))
    return 0


def grow_again_main(*, database_url: str, by: int, progress) -> int:
    """Grow the last ``--scale`` run's grown database ``by`` times again (1,000 clinics
    become 2,000 with ``by`` 2), inside PostgreSQL; ``--remeasure`` then measures it."""
    started = time.monotonic()
    counts = network_grow(database_url=database_url, factor=by)
    progress(f"grown {by}× again in {time.monotonic() - started:.0f} s: {counts}")
    return 0
