"""Benchmark data: clinics, patients, sessions and their check-in history, loaded with COPY.

Sessions are spread evenly over the last ``span_days``; each gets a numbing
cream before and a serum after, and its day-2 and day-7 check-ins in whatever
state time has brought them to: answered (most), missed (a few), still open,
or not yet due. Answers are drawn mostly none/mild, are assessed by the real
rules engine, and raise the escalations it decides on (a few % review, under
1% urgent), handled or not according to their age.

Nothing generated is due during the run: every open row's next action is at
least ``DUE_MARGIN`` away, so the sweeps only ever see the rows a benchmark
marks due itself.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from followups.assessment import rules, symptoms
from followups.assessment.schedule import checkin_due_at

DUE_MARGIN = timedelta(hours=3)
LINK_TTL = timedelta(hours=72)
REMINDER_AFTER = timedelta(hours=24)
NO_RESPONSE_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class Scale:
    mode: str
    patients: int
    sessions: int
    clinics: int
    span_days: int
    practitioners_per_clinic: int = 3


SCALES = {
    "full": Scale("full", patients=100_000, sessions=300_000, clinics=20, span_days=365),
    # Sessions packed into fewer days, so the quick run still has enough open
    # check-ins for the sweep and the patient form to work on.
    "quick": Scale("quick", patients=10_000, sessions=30_000, clinics=5, span_days=100),
    # python -m bench --scale: the network at 1× (bench/scale.py copies it N times).
    "scale": Scale("scale", patients=100_000, sessions=300_000, clinics=100, span_days=365),
    "scale-tiny": Scale("scale-tiny", patients=400, sessions=1_200, clinics=4, span_days=60),
}


@dataclass
class World:
    """What the benchmarks need to know about the generated data."""

    now: datetime
    clinic_ids: list[int]
    practitioner_ids: dict[int, list[int]]
    staff_ids: dict[int, int]
    numbing_product_ids: list[int]
    serum_product_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def measured_clinic_id(self) -> int:
        return self.clinic_ids[0]


# Answers ----------------------------------------------------------------------------

SEVERITIES = tuple(step.value_name for step in symptoms.Severity)
TRENDS = tuple(trend.value for trend in symptoms.Trend)
# The answers' columns as the table has them: the severities, their trends, the yes/no answers.
ANSWER_COLUMNS = (*symptoms.severity_names(), *symptoms.trend_names(),
                  *symptoms.yes_no_names())

# Weights over SEVERITIES. Day 2: redness, swelling and a few bumps are the
# expected course of healing; by day 7 almost everyone is clear.
SEVERITY_WEIGHTS = {
    2: {"rash": (45, 45, 9.5, 0.4, 0.1), "breakouts": (80, 17, 2.9, 0.1, 0),
        "itching": (60, 35, 4.9, 0.1, 0), "swelling": (50, 45, 4.8, 0.2, 0),
        "pain": (70, 27, 2.8, 0.15, 0.05)},
    7: {"rash": (97.5, 2.2, 0.3, 0, 0), "breakouts": (98.5, 1.4, 0.1, 0, 0),
        "itching": (93, 6.5, 0.5, 0, 0), "swelling": (99.2, 0.8, 0, 0, 0),
        "pain": (98, 2, 0, 0, 0)},
}
TREND_WEIGHTS = {2: (70, 28, 2), 7: (85, 14, 1)}
YES_RATES = {2: {"fever": 0.0015, "pus": 0.0015, "hives": 0.004},
             7: {"fever": 0.0005, "pus": 0.0005, "hives": 0.002}}


def answers_draw(rng: random.Random, day: int) -> dict[str, object]:
    """One realistic set of answers, with the interface's field names and values."""
    answers: dict[str, object] = {}
    for name, weights in SEVERITY_WEIGHTS[day].items():
        answers[name] = rng.choices(SEVERITIES, weights)[0]
    for symptom in symptoms.symptoms_with_trend():
        answers[symptom.trend_name] = (
            "" if answers[symptom.name] == "none"
            else rng.choices(TRENDS, TREND_WEIGHTS[day])[0]
        )
    for name, rate in YES_RATES[day].items():
        answers[name] = rng.random() < rate
    answers["comments"] = ""
    return answers


def answers_pool(rng: random.Random, day: int, size: int) -> list[tuple[dict, rules.Answers]]:
    """Pre-drawn answers: drawing each of 500,000 from scratch would dominate loading."""
    pool = []
    for _ in range(size):
        raw = answers_draw(rng, day)
        pool.append((raw, rules.Answers.from_mapping(raw)))
    return pool


# Reference data ----------------------------------------------------------------------

TIMEZONES = ("Europe/London", "Europe/Dublin", "Europe/Paris", "America/New_York",
             "America/Chicago", "America/Los_Angeles", "Australia/Sydney")
PRODUCTS = (
    ("Lidocaine 5% numbing cream", "numbing_cream", ["lidocaine"]),
    ("Tetracaine 4% numbing cream", "numbing_cream", ["tetracaine"]),
    ("BLT numbing cream", "numbing_cream", ["benzocaine", "lidocaine", "tetracaine"]),
    ("Hyaluronic acid serum", "hyaluronic_acid", ["hyaluronic acid", "glycerin"]),
    ("Growth factor serum", "growth_factor", ["EGF", "peptides", "glycerin"]),
    ("Vitamin C serum", "serum", ["ascorbic acid", "fragrance"]),
    ("Peptide serum", "serum", ["peptides", "panthenol"]),
)
NUMBING_WEIGHTS = (60, 25, 15)
ALLERGIES = (["lidocaine"], ["benzocaine"], ["fragrance"], ["nickel"], ["latex"],
             ["peptides"], ["tetracaine"], ["penicillin", "latex"])
ALLERGY_RATE = 0.08
FIRST_NAMES = ("Maya", "Olivia", "Amelia", "Isla", "Ava", "Mia", "Sofia", "Grace", "Lily",
               "Chloe", "Emma", "Noah", "Leo", "Oscar", "Arthur", "Zara", "Priya", "Aisha",
               "Hannah", "Lucia", "Elena", "Yuki", "Nora", "Freya")
LAST_NAMES = ("Quintero", "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson",
              "Johnson", "Davies", "Patel", "Khan", "Murphy", "Kelly", "Garcia", "Martin",
              "Dubois", "Rossi", "Novak", "Tanaka", "Okafor", "Silva", "Cohen", "Nguyen")
AREAS = ("face", "face", "face", "neck", "decolletage", "scalp", "hands")
DEPTHS = (Decimal("0.50"), Decimal("0.75"), Decimal("1.00"), Decimal("1.50"), Decimal("2.00"))


def _reference_create(scale: Scale, now: datetime) -> World:
    """The small tables, through the ORM: clinics, staff, memberships, products."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    from patients.models import Clinic, ClinicMembership, Product

    User = get_user_model()
    clinics = Clinic.objects.bulk_create(
        Clinic(name=f"Bench Clinic {n:02d}", timezone=TIMEZONES[n % len(TIMEZONES)],
               phone="+44 20 7946 0000", email=f"alerts{n}@clinic.example", send_hour=10)
        for n in range(scale.clinics)
    )
    users, memberships = [], []
    practitioner_ids: dict[int, list[int]] = {}
    staff_ids: dict[int, int] = {}
    roles = ["desk", *[f"practitioner{k}" for k in range(scale.practitioners_per_clinic)]]
    for n in range(len(clinics)):
        for role in roles:
            # An unusable password: hashing a real one costs a second per user.
            users.append(User(username=f"{role}-{n:02d}", email=f"{role}-{n:02d}@clinic.example",
                              is_staff=True, password="!bench", date_joined=now))
    users = User.objects.bulk_create(users)
    per_clinic = 1 + scale.practitioners_per_clinic
    for n, clinic in enumerate(clinics):
        mine = users[n * per_clinic:(n + 1) * per_clinic]
        staff_ids[clinic.id] = mine[0].id
        practitioner_ids[clinic.id] = [user.id for user in mine[1:]]
        memberships += [ClinicMembership(clinic=clinic, user=user) for user in mine]
    ClinicMembership.objects.bulk_create(memberships)
    # The desk users work in the admin: the clinic staff group if the project
    # defines one, and the escalation permissions either way.
    desk = User.objects.filter(id__in=staff_ids.values())
    permissions = list(Permission.objects.filter(
        content_type__app_label__in=["followups", "patients"], codename__startswith="view_"
    )) + list(Permission.objects.filter(content_type__app_label="followups",
                                        codename__in=["change_escalation", "change_checkin"]))
    group = Group.objects.filter(name="Clinic staff").first()
    for user in desk:
        user.user_permissions.add(*permissions)
        if group is not None:
            user.groups.add(group)
    products = Product.objects.bulk_create(
        Product(name=name, kind=kind, ingredients=ingredients)
        for name, kind, ingredients in PRODUCTS
    )
    return World(
        now=now, clinic_ids=[clinic.id for clinic in clinics],
        practitioner_ids=practitioner_ids, staff_ids=staff_ids,
        numbing_product_ids=[p.id for p in products if p.kind == "numbing_cream"],
        serum_product_ids=[p.id for p in products if p.kind != "numbing_cream"],
    )


# The big tables ------------------------------------------------------------------------

COLUMNS = {
    "patients_patient": ("id", "clinic_id", "first_name", "last_name", "email", "phone",
                         "date_of_birth", "known_allergies", "acne_prone", "notes",
                         "created_at"),
    "patients_treatmentsession": ("id", "patient_id", "practitioner_id", "performed_at",
                                  "treatment_area", "device", "needle_depth_mm", "notes",
                                  "cancelled_at", "created_at"),
    "patients_productapplication": ("id", "session_id", "product_id", "phase", "lot_number",
                                    "ingredients"),
    "followups_checkin": ("id", "session_id", "day", "status", "due_at", "sent_at",
                          "reminder_sent_at", "expires_at", "completed_at", "next_action_at",
                          "claim_token", "attempts", "last_error", "send_generation",
                          "created_at", "clinic_id"),
    "followups_checkinlink": ("id", "checkin_id", "token_hash", "created_at", "expires_at",
                              "revoked_at"),
    "followups_checkinresponse": ("id", "checkin_id", *ANSWER_COLUMNS, "comments", "photo",
                                  "channel", "entered_by_id", "submitted_at",
                                  "assessment_level", "assessment_reasons", "clinic_id"),
    "followups_escalation": ("id", "patient_id", "session_id", "checkin_id", "response_id",
                             "trigger", "level", "level_rank", "status", "reasons",
                             "created_at", "acknowledged_by_id", "acknowledged_at",
                             "resolved_by_id", "resolved_at", "resolution_note",
                             "alert_sent_at", "renotified_at", "next_action_at", "claim_token",
                             "attempts", "last_error", "clusters_checked_at", "clinic_id"),
}
TABLE_LABELS = {
    "patients_patient": "patients", "patients_treatmentsession": "sessions",
    "patients_productapplication": "product applications", "followups_checkin": "check-ins",
    "followups_checkinlink": "links", "followups_checkinresponse": "answers",
    "followups_escalation": "escalations",
}
# Commit order: deferred foreign keys are checked at commit, against rows the
# tables before have already committed.
LOAD_ORDER = tuple(COLUMNS)


def _checkpoint(connection) -> None:
    """Write the load's dirty pages now, not during the first measurement after it."""
    try:
        connection.execute("CHECKPOINT")
    except Exception:  # not a superuser: the checkpointer will get to it
        pass


def _foreign_key_triggers_skip(connection) -> None:
    """Skip the row-by-row foreign-key checks for this connection's transaction.

    Loading is several times faster without them, and every id the generator
    writes is one it has just written itself. Check and unique constraints
    still apply. Needs a superuser; without one the checks simply run.
    """
    try:
        connection.execute("SET LOCAL session_replication_role = replica")
    except Exception:
        connection.rollback()


@contextmanager
def _secondary_indexes_dropped(connection, tables: Sequence[str]):
    """Drop the indexes no constraint needs, and build them again afterwards.

    Building an index once over a loaded table is much cheaper than updating
    it row by row. The indexes come back exactly as the migrations made them,
    also when the load fails.
    """
    definitions = connection.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [list(tables)],
    ).fetchall()
    for name, _ in definitions:
        connection.execute(f"DROP INDEX {name}")
    connection.commit()
    try:
        yield
    except BaseException:
        connection.rollback()  # the load is undone; the indexes still come back
        raise
    finally:
        connection.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in definitions:
            connection.execute(definition)
        connection.commit()


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {TABLE_LABELS.get(table, table)}"
                     for table, count in counts.items())


def _defaults_of_other_columns() -> dict[str, list[tuple[str, object]]]:
    """Per table, the model's columns the generator does not write, with their defaults.

    A field added to a model later (a language, a provider's message id) is
    loaded with its default, as the ORM would create the row, so the data
    keeps loading; what the benchmark measures is written explicitly above.
    """
    from bench.columns import columns_not_written

    return {table: [(column.name, column.value)
                    for column in columns_not_written(table, columns)]
            for table, columns in COLUMNS.items()}


class _Loader:
    """One COPY per table, all open at once, so every row is written as it is made."""

    def __init__(self, database_url: str, stack: ExitStack):
        from bench.database import connect

        self.copies = {}
        self.open = {}
        self.connections = {}
        self.counts = dict.fromkeys(COLUMNS, 0)
        self.defaults = _defaults_of_other_columns()
        for table, columns in COLUMNS.items():
            connection = stack.enter_context(connect(database_url, autocommit=False))
            _foreign_key_triggers_skip(connection)
            extra = [column for column, _value in self.defaults[table]]
            statement = f"COPY {table} ({', '.join([*columns, *extra])}) FROM STDIN"
            self.open[table] = ExitStack()
            self.copies[table] = self.open[table].enter_context(
                connection.cursor().copy(statement))
            self.connections[table] = connection

    def add(self, table: str, row: Sequence) -> int:
        defaults = self.defaults[table]
        self.copies[table].write_row((*row, *(value for _column, value in defaults))
                                     if defaults else row)
        self.counts[table] += 1
        return self.counts[table]

    def finish(self) -> None:
        for table in LOAD_ORDER:
            self.open[table].close()
            self.connections[table].commit()


class _Generator:
    def __init__(self, *, scale: Scale, world: World, seed: int):
        self.scale = scale
        self.world = world
        self.rng = random.Random(seed)
        self.now = world.now
        self.pools = {day: answers_pool(self.rng, day, 8192) for day in (2, 7)}
        self.no_response_reasons = {
            day: json.dumps(rules.assess_non_response(
                day=day, sent_at=self.now, reminder_sent_at=self.now,
                now=self.now + NO_RESPONSE_AFTER, window=NO_RESPONSE_AFTER,
            ).as_dict()["reasons"])
            for day in (2, 7)
        }
        self.ingredients = {}
        self.clinic_timezones = {}
        self.patients: list[tuple[int, list[str]]] = []  # (clinic_id, allergies) by id - 1

    def reference_load(self) -> None:
        from patients.models import Clinic, Product

        for product in Product.objects.all():
            self.ingredients[product.id] = product.ingredients
        for clinic in Clinic.objects.all():
            self.clinic_timezones[clinic.id] = (clinic.timezone, clinic.send_hour)

    # -- patients

    def patients_write(self, loader: _Loader) -> None:
        rng, clinics = self.rng, self.world.clinic_ids
        created = self.now - timedelta(days=self.scale.span_days + 30)
        for n in range(1, self.scale.patients + 1):
            clinic_id = clinics[n % len(clinics)]
            allergies = rng.choice(ALLERGIES) if rng.random() < ALLERGY_RATE else []
            self.patients.append((clinic_id, allergies))
            birth = datetime(1960 + n % 45, 1 + n % 12, 1 + n % 28).date()
            # The phone as the product stores it: E.164 (patients.phones).
            loader.add("patients_patient", (
                n, clinic_id, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES),
                f"patient{n}@mail.example", "+447700900000", birth, json.dumps(allergies),
                rng.random() < 0.15, "", created,
            ))

    # -- sessions and everything that hangs off them

    def sessions_write(self, loader: _Loader) -> None:
        rng, now = self.rng, self.now
        span = self.scale.span_days * 86400
        moments = sorted(rng.random() * span for _ in range(self.scale.sessions))
        for seconds_ago in reversed(moments):
            performed_at = now - timedelta(seconds=seconds_ago)
            self._session_write(loader, performed_at)

    def _session_write(self, loader: _Loader, performed_at: datetime) -> None:
        rng, world = self.rng, self.world
        patient_id = rng.randrange(1, self.scale.patients + 1)
        clinic_id, allergies = self.patients[patient_id - 1]
        cancelled = rng.random() < 0.01
        session_id = loader.add("patients_treatmentsession", (
            loader.counts["patients_treatmentsession"] + 1, patient_id,
            rng.choice(world.practitioner_ids[clinic_id]), performed_at, rng.choice(AREAS),
            "Dermapen 4", rng.choice(DEPTHS), "",
            performed_at + timedelta(hours=1) if cancelled else None,
            performed_at + timedelta(minutes=10),
        ))
        lot = f"{performed_at:%y%m}"  # lots change monthly
        numbing = rng.choices(world.numbing_product_ids, NUMBING_WEIGHTS)[0]
        serum = rng.choice(world.serum_product_ids)
        ingredients = [*self.ingredients[numbing], *self.ingredients[serum]]
        for product_id, phase in ((numbing, "pre"), (serum, "post")):
            loader.add("patients_productapplication", (
                loader.counts["patients_productapplication"] + 1, session_id, product_id,
                phase, f"L{product_id}-{lot}", json.dumps(self.ingredients[product_id]),
            ))
        timezone_name, send_hour = self.clinic_timezones[clinic_id]
        previous: list[rules.Answers] = []
        for day in (2, 7):
            due_at = checkin_due_at(performed_at=performed_at, timezone=timezone_name,
                                    send_hour=send_hour, day=day)
            answered = self._checkin_write(
                loader, session_id=session_id, patient_id=patient_id, clinic_id=clinic_id,
                day=day, due_at=due_at, created_at=performed_at + timedelta(minutes=10),
                cancelled=cancelled, previous=previous, allergies=allergies,
                ingredients=ingredients,
            )
            if answered is not None:
                previous.append(answered)

    def _checkin_write(self, loader: _Loader, *, session_id, patient_id, clinic_id, day,
                       due_at, created_at, cancelled, previous, allergies, ingredients):
        rng, now = self.rng, self.now
        checkin_id = loader.counts["followups_checkin"] + 1
        sent_at = reminder_at = expires_at = completed_at = next_action_at = None
        response = None
        if cancelled:
            status = "cancelled"
        elif due_at > now:
            status, next_action_at = "scheduled", max(due_at, now + DUE_MARGIN)
        else:
            sent_at = due_at + timedelta(seconds=rng.randrange(5, 90))
            expires_at = sent_at + LINK_TTL
            roll = rng.random()
            if roll < 0.975:
                # Most answer the day they are asked; some after the reminder.
                hours = (rng.uniform(0.1, 24) if roll < 0.72
                         else rng.uniform(24, 48) if roll < 0.93 else rng.uniform(48, 71.9))
                answered_at = sent_at + timedelta(hours=hours)
            else:
                answered_at = None
            if answered_at is not None and answered_at <= now:
                status, completed_at = "completed", answered_at
                if answered_at - sent_at >= REMINDER_AFTER:
                    reminder_at = sent_at + REMINDER_AFTER
            elif now < expires_at:
                status = "sent"
                if now < sent_at + REMINDER_AFTER:
                    next_action_at = sent_at + REMINDER_AFTER
                else:
                    reminder_at = sent_at + REMINDER_AFTER
                    next_action_at = (sent_at + NO_RESPONSE_AFTER
                                      if now < sent_at + NO_RESPONSE_AFTER else expires_at)
                next_action_at = max(next_action_at, now + DUE_MARGIN)
            else:
                status, reminder_at = "missed", sent_at + REMINDER_AFTER
        loader.add("followups_checkin", (
            checkin_id, session_id, day, status, due_at, sent_at, reminder_at, expires_at,
            completed_at, next_action_at, None, 0, "", 1, created_at, clinic_id,
        ))
        if sent_at is None:
            return None
        revoked_at = completed_at or (expires_at if status == "missed" else None)
        loader.add("followups_checkinlink", (
            loader.counts["followups_checkinlink"] + 1, checkin_id, os.urandom(32).hex(),
            sent_at, expires_at, revoked_at,
        ))
        escalation = None
        if status == "completed":
            raw, answers = rng.choice(self.pools[day])
            assessment = rules.assess_answers(
                answers=answers, day=day, previous=previous, known_allergies=allergies,
                product_ingredients=ingredients,
            )
            reasons = json.dumps(assessment.as_dict()["reasons"]) if assessment.flagged else "[]"
            by_staff = rng.random() < 0.03
            response_id = loader.add("followups_checkinresponse", (
                loader.counts["followups_checkinresponse"] + 1, checkin_id,
                *(raw[name] for name in ANSWER_COLUMNS), "", None,
                "staff" if by_staff else "patient_link",
                self.world.staff_ids[clinic_id] if by_staff else None, completed_at,
                assessment.level.label, reasons, clinic_id,
            ))
            response = answers
            if assessment.flagged:
                escalation = ("response", response_id, assessment.level.label, reasons,
                              completed_at)
        elif reminder_at is not None and (status == "missed"
                                          or now >= sent_at + NO_RESPONSE_AFTER):
            escalation = ("no_response", None, "review", self.no_response_reasons[day],
                          sent_at + NO_RESPONSE_AFTER)
        if escalation is not None:
            self._escalation_write(loader, escalation, patient_id=patient_id,
                                   session_id=session_id, checkin_id=checkin_id,
                                   clinic_id=clinic_id)
        return response

    def _escalation_write(self, loader: _Loader, escalation, *, patient_id, session_id,
                          checkin_id, clinic_id) -> None:
        rng, now = self.rng, self.now
        trigger, response_id, level, reasons, created_at = escalation
        age = now - created_at
        roll = rng.random()
        # Recent ones are mostly waiting; a few old ones linger in the queue.
        if age < timedelta(days=2):
            status = "open" if roll < 0.7 else "acknowledged" if roll < 0.9 else "resolved"
        elif age < timedelta(days=14):
            status = "open" if roll < 0.2 else "acknowledged" if roll < 0.4 else "resolved"
        else:
            status = "open" if roll < 0.03 else "acknowledged" if roll < 0.05 else "resolved"
        staff = self.world.staff_ids[clinic_id]
        acknowledged_at = (min(created_at + timedelta(hours=rng.uniform(0.2, 20)), now)
                           if status != "open" else None)
        resolved_at = (min(acknowledged_at + timedelta(hours=rng.uniform(0.1, 30)), now)
                       if status == "resolved" else None)
        urgent = level == "urgent"
        # Alerts for urgent ones have gone out (and been repeated where still
        # unacknowledged), and every one has been looked at for clusters, so no
        # escalation is due during the run.
        alert_sent_at = created_at + timedelta(minutes=1) if urgent else None
        renotified_at = (created_at + timedelta(hours=2)
                         if urgent and status == "open" and age > timedelta(hours=2) else None)
        loader.add("followups_escalation", (
            loader.counts["followups_escalation"] + 1, patient_id, session_id, checkin_id,
            response_id, trigger, level, 2 if urgent else 1, status, reasons, created_at,
            staff if acknowledged_at else None, acknowledged_at,
            staff if resolved_at else None, resolved_at,
            "Called the patient; aftercare advice given." if resolved_at else "",
            alert_sent_at, renotified_at, None, None, 0, "", created_at + timedelta(minutes=1),
            clinic_id,
        ))


def world_generate(*, database_url: str, scale: Scale, seed: int = 20240601) -> World:
    """Fill the (migrated, empty) benchmark database; return what was made."""
    from bench.database import connect

    world = _reference_create(scale, datetime.now(UTC))
    generator = _Generator(scale=scale, world=world, seed=seed)
    generator.reference_load()
    with connect(database_url, autocommit=False) as connection:
        with _secondary_indexes_dropped(connection, LOAD_ORDER), ExitStack() as stack:
            loader = _Loader(database_url, stack)
            generator.patients_write(loader)
            generator.sessions_write(loader)
            loader.finish()
            counts = dict(loader.counts)
    with connect(database_url) as connection:
        for table in LOAD_ORDER:
            # The ids were given explicitly: move each identity past them.
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        connection.execute("VACUUM ANALYZE")
        _checkpoint(connection)
    world.counts = counts
    return world


# The 10x table ---------------------------------------------------------------------------

# The columns checkins_grow's statements write themselves; any other gets its default.
GROWN_SESSION_COLUMNS = ("id", "patient_id", "practitioner_id", "performed_at",
                         "treatment_area", "device", "needle_depth_mm", "notes", "cancelled_at",
                         "created_at")
GROWN_CHECKIN_COLUMNS = ("id", "session_id", "day", "status", "due_at", "sent_at",
                         "reminder_sent_at", "expires_at", "completed_at", "next_action_at",
                         "claim_token", "attempts", "last_error", "send_generation",
                         "created_at")


def _names(written: Sequence[str], others) -> str:
    return ", ".join([*written, *(column.name for column in others)])


def _default_placeholders(others) -> str:
    """The defaults as named parameters, after the columns the SELECT writes."""
    return "".join(f", %(default_{column.name})s::{column.db_type}" for column in others)


def _default_parameters(others) -> dict[str, object]:
    return {f"default_{column.name}": column.value for column in others}


def checkins_grow(*, database_url: str, factor: int = 10) -> int:
    """Make the check-in table ``factor`` times bigger with rows that are never due.

    Every session is copied ``factor - 1`` times with its check-ins: one copy
    in five far in the future (scheduled, so the sweep's partial index grows
    too), the others as answered history. Done in the server, in one
    statement per table, with the secondary indexes built afterwards and the
    foreign-key checks skipped (every row points at a row the same
    transaction copied). Returns the new row count.
    """
    from bench.columns import columns_not_written
    from bench.database import connect

    copies = factor - 1
    tables = ("patients_treatmentsession", "followups_checkin")
    # Columns a model gained since these statements were written get their
    # defaults (a copy of history was never sent through a provider, say).
    session_others = columns_not_written("patients_treatmentsession", GROWN_SESSION_COLUMNS)
    checkin_others = columns_not_written("followups_checkin", GROWN_CHECKIN_COLUMNS)
    with connect(database_url, autocommit=False) as connection, \
            _secondary_indexes_dropped(connection, tables):
        _foreign_key_triggers_skip(connection)
        top_session = connection.execute(
            "SELECT max(id) FROM patients_treatmentsession").fetchone()[0]
        top_checkin = connection.execute("SELECT max(id) FROM followups_checkin").fetchone()[0]
        connection.execute(
            f"""
            INSERT INTO patients_treatmentsession (
                {_names(GROWN_SESSION_COLUMNS, session_others)})
            SELECT s.id + k * %(top)s, s.patient_id, s.practitioner_id,
                   CASE WHEN (s.id + k) %% 5 = 0 THEN s.performed_at + k * interval '400 days'
                        ELSE s.performed_at - k * interval '400 days' END,
                   s.treatment_area, s.device, s.needle_depth_mm, '', NULL, s.created_at
                   {_default_placeholders(session_others)}
            FROM patients_treatmentsession s CROSS JOIN generate_series(1, %(copies)s) k
            WHERE s.id <= %(top)s
            """,
            {"top": top_session, "copies": copies, **_default_parameters(session_others)},
        )
        connection.execute(
            f"""
            INSERT INTO followups_checkin (
                {_names(GROWN_CHECKIN_COLUMNS, checkin_others)})
            SELECT c.id + k * %(top_checkin)s, c.session_id + k * %(top_session)s, c.day,
                   f.status, f.due_at, f.sent_at, NULL, f.sent_at + interval '72 hours',
                   f.completed_at, f.next_action_at, NULL, 0, '', 1, c.created_at
                   {_default_placeholders(checkin_others)}
            FROM followups_checkin c
            CROSS JOIN generate_series(1, %(copies)s) k
            CROSS JOIN LATERAL (
                SELECT CASE WHEN future THEN 'scheduled' ELSE 'completed' END AS status,
                       due AS due_at,
                       CASE WHEN future THEN NULL ELSE due END AS sent_at,
                       CASE WHEN future THEN NULL ELSE due + interval '5 hours' END
                           AS completed_at,
                       CASE WHEN future THEN due END AS next_action_at
                FROM (SELECT (c.session_id + k) %% 5 = 0 AS future,
                             CASE WHEN (c.session_id + k) %% 5 = 0
                                  THEN greatest(c.due_at, now()) + k * interval '400 days'
                                  ELSE c.due_at - k * interval '400 days' END AS due) d
            ) f
            WHERE c.id <= %(top_checkin)s
            """,
            {"top_checkin": top_checkin, "top_session": top_session, "copies": copies,
             **_default_parameters(checkin_others)},
        )
        connection.commit()
    with connect(database_url) as connection:
        for table in tables:
            connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
            connection.execute(f"VACUUM ANALYZE {table}")
        _checkpoint(connection)
        return connection.execute("SELECT count(*) FROM followups_checkin").fetchone()[0]
