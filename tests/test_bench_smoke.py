"""The benchmark's verdicts and table, without running it (``python -m bench`` does that)."""

from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.report import (
    ERROR,
    FAIL,
    INFO,
    PASS,
    PENDING,
    Result,
    Target,
    failed,
    informational,
    percentile,
    table_markdown,
)


def test_it_compares_a_value_with_a_target_in_either_direction():
    at_least, at_most = Target(">=", 0.3), Target("<=", 1.5)

    assert at_least.met(0.3) and at_least.met(2.0) and not at_least.met(0.29)
    assert at_most.met(1.5) and at_most.met(0.1) and not at_most.met(1.51)
    assert str(at_least) == "≥ 0.3×"
    assert str(Target("<=", 50, "µs")) == "≤ 50 µs"


def test_it_refuses_a_target_without_a_direction():
    with pytest.raises(ValueError):
        Target("<", 1)


def test_it_judges_a_row_by_its_ratio_unless_given_another_value():
    assert Result("sweep", "1 rows/s", ratio=0.5, target=Target(">=", 0.3)).verdict == PASS
    assert Result("sweep", "1 rows/s", ratio=0.2, target=Target(">=", 0.3)).verdict == FAIL
    rules = Result("rules", "60 µs/call", target=Target("<=", 50, "µs"), value=60.0)
    assert rules.verdict == FAIL
    assert Result("no figure", "—", target=Target("<=", 5)).verdict == FAIL


def test_it_fails_a_row_whose_extra_check_does_not_hold():
    row = Result("rules", "2 µs/call", target=Target("<=", 50, "µs"), value=2.0,
                 checks=[("0 queries", False)])

    assert row.verdict == FAIL
    assert row.target_text == "≤ 50 µs, 0 queries"


def test_it_fails_the_run_on_a_missed_target_or_a_broken_measurement_but_not_on_pending():
    rows = [
        Result("met", "x", ratio=1.0, target=Target("<=", 3)),
        Result("missed", "x", ratio=4.0, target=Target("<=", 3)),
        Result("broken", "—", status=ERROR),
        Result("not landed", "—", ratio=9.0, target=Target("<=", 3), status=PENDING),
    ]

    assert [row.operation for row in failed(rows)] == ["missed", "broken"]


def test_an_informational_row_has_no_target_and_never_fails_the_run():
    row = informational("↳ for reference: raw claim loop", "33,000 rows/s", ratio=0.018)

    assert row.verdict == INFO and row.target_text == "—"
    assert failed([row]) == []
    assert table_markdown([row]).splitlines()[2] == (
        "| ↳ for reference: raw claim loop | 33,000 rows/s | — | 0.018× | — | info |")


def test_it_prints_one_markdown_table_with_the_six_columns():
    rows = [Result("API list | page", "p50 3 ms", "p50 1 ms raw", ratio=3.0,
                   target=Target("<=", 5)),
            Result("rules", "2 µs/call", target=Target("<=", 50, "µs"), value=2.0)]

    lines = table_markdown(rows).splitlines()

    assert lines[0] == "| operation | figure | baseline | ratio | target | pass/fail |"
    assert lines[1] == "|---|---|---|---|---|---|"
    assert lines[2] == "| API list \\| page | p50 3 ms | p50 1 ms raw | 3.00× | ≤ 5× | pass |"
    assert lines[3] == "| rules | 2 µs/call | — | — | ≤ 50 µs | pass |"


def test_the_form_row_fails_on_its_query_cap_even_when_the_ratio_is_met():
    from bench.patient_form import STATEMENT_CAP, TARGET_RATIO

    def row(most: int) -> Result:
        return Result("form", "x", ratio=0.9, target=Target(">=", TARGET_RATIO),
                      checks=[(f"≤ {STATEMENT_CAP} queries/POST", most <= STATEMENT_CAP)])

    assert (TARGET_RATIO, STATEMENT_CAP) == (0.2, 6)
    assert row(6).verdict == PASS
    assert row(7).verdict == FAIL
    assert row(7).target_text == "≥ 0.2×, ≤ 6 queries/POST"


# A libpq trace (PQTRACE_SUPPRESS_TIMESTAMPS | PQTRACE_REGRESS_MODE) of: Django's health
# check, a parameterless query, a statement run unnamed then prepared and bound by name,
# BEGIN/COMMIT sent by psycopg, and SQL starting with a line break.
TRACE = """\
F\t13\tQuery\t "SELECT 1"
B\t13\tCommandComplete\t "SELECT 1"
B\t5\tReadyForQuery\t I
F\t10\tQuery\t "BEGIN"
B\t10\tCommandComplete\t "BEGIN"
F\t26\tParse\t "" "UPDATE "followups_checkin" SET "status" = $1" 1 NNNN
F\t22\tBind\t "" "" 1 1 1 2 '\\x00\\x00' 1 0
F\t6\tDescribe\t P ""
F\t9\tExecute\t "" 0
F\t4\tSync
B\t4\tParseComplete
F\t32\tParse\t "_pg3_0" "INSERT INTO "followups_checkinresponse" VALUES ($1)" 1 NNNN
F\t4\tSync
B\t4\tParseComplete
F\t28\tBind\t "" "_pg3_0" 1 1 1 2 '\\x00\\x02' 1 0
F\t9\tExecute\t "" 0
F\t4\tSync
F\t11\tQuery\t "COMMIT"
F\t28\tBind\t "" "_pg3_0" 1 1 1 2 '\\x00\\x03' 1 0
F\t9\tExecute\t "" 0
F\t4\tSync
F\t40\tQuery\t "
    SELECT id FROM followups_checkin"
F\t4\tTerminate
"""


def test_the_trace_reader_counts_every_statement_sent_and_names_its_kind():
    from bench.statements import TraceReader

    assert TraceReader().feed(TRACE) == ["SELECT 1", "BEGIN", "UPDATE", "INSERT", "COMMIT",
                                         "INSERT", "SELECT"]


def test_the_trace_reader_takes_the_trace_in_pieces_as_it_is_written():
    from bench.statements import TraceReader

    reader = TraceReader()
    cut = TRACE.index("_pg3_0") + 3  # in the middle of the Parse that prepares a statement

    first, second = reader.feed(TRACE[:cut]), reader.feed(TRACE[cut:])

    assert first == ["SELECT 1", "BEGIN", "UPDATE"]
    assert second == ["INSERT", "COMMIT", "INSERT", "SELECT"]


def test_the_form_reports_its_statement_counts_by_kind_of_answer():
    from bench.patient_form import Outcome, counts_text, statements_by_answer

    plain = ("SELECT 1", "SELECT", "SELECT", "BEGIN", "UPDATE", "INSERT", "COMMIT")
    flagged = (*plain[:-1], "INSERT", "COMMIT")
    outcomes = [(1, Outcome(200, 0.01, plain)), (2, Outcome(200, 0.01, plain)),
                (3, Outcome(200, 0.01, flagged))]
    kinds = {1: (2, False, False), 2: (2, False, False), 3: (7, True, True)}

    assert counts_text(Counter({8: 1, 7: 2})) == "7 ×2, 8 ×1"
    assert statements_by_answer(outcomes, kinds) == (
        "day 2, not flagged, no allergies: 2 POSTs, 7 ×2 "
        "(mostly SELECT 1 SELECT SELECT BEGIN UPDATE INSERT COMMIT); "
        "day 7, flagged, known allergies: 1 POST, 8 ×1 "
        "(mostly SELECT 1 SELECT SELECT BEGIN UPDATE INSERT INSERT COMMIT)")


def test_it_takes_nearest_rank_percentiles():
    values = [float(n) for n in range(1, 101)]

    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert percentile([7.0], 0.95) == 7.0


@pytest.mark.parametrize(("clinic_email", "clinic_phone"), [("desk@clinic.example", "+44 20"),
                                                            ("", "")])
def test_the_raw_sweep_builds_the_same_invitation_as_the_product(settings, clinic_email,
                                                                 clinic_phone):
    """The sweep's baseline must do the same job: the same email, byte for byte but the token."""
    from bench.sweep import patient_email_fields, raw_invitation
    from followups.delivery.channels.email.messages import checkin_email
    from followups.models import CheckIn
    from patients.models import Clinic, Patient, TreatmentSession

    settings.SITE_URL = "https://aftercare.example"
    clinic = Clinic(id=3, name="Skin & Co", phone=clinic_phone, email=clinic_email,
                    timezone="Europe/London")
    patient = Patient(id=5, clinic=clinic, first_name="Ada <b>", last_name="L",
                      email="ada@example.com")
    due_at = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)  # the day the clocks go forward
    checkin = CheckIn(id=7, session=TreatmentSession(id=11, patient=patient), day=2,
                      due_at=due_at, send_generation=2)
    row = {"id": 7, "due_at": due_at, "send_generation": 2, "clinic_name": "Skin & Co",
           "clinic_phone": clinic_phone, "clinic_email": clinic_email,
           "clinic_timezone": "Europe/London"}
    row |= {name: getattr(patient, name) for name in patient_email_fields()}

    product = checkin_email(checkin, token="the-token", reminder=False)
    raw = raw_invitation(row, "the-token")

    for attribute in ("subject", "body", "from_email", "to", "cc", "bcc", "reply_to",
                      "extra_headers", "alternatives"):
        assert getattr(raw, attribute) == getattr(product, attribute), attribute
    assert "https://aftercare.example/c/the-token/" in raw.body


def test_the_raw_sweep_has_its_email_built_by_the_product(monkeypatch):
    """The baseline never builds the message itself.

    It calls followups.delivery.channels.email.messages.checkin_email.
    """
    from bench.sweep import raw_invitation
    from followups.delivery.channels.email import messages

    calls = []
    monkeypatch.setattr(messages, "checkin_email",
                        lambda checkin, **kwargs: calls.append((checkin, kwargs)) or "built")
    row = {"id": 7, "due_at": datetime(2026, 3, 29, 9, 30, tzinfo=UTC), "send_generation": 2,
           "first_name": "Ada", "email": "ada@example.com", "clinic_name": "Skin & Co",
           "clinic_phone": "", "clinic_email": "", "clinic_timezone": "Europe/London"}

    assert raw_invitation(row, "the-token") == "built"
    [(checkin, kwargs)] = calls
    assert kwargs == {"token": "the-token", "reminder": False}
    assert (checkin.pk, checkin.send_generation, checkin.session.patient.clinic.name) == (
        7, 2, "Skin & Co")


def test_the_form_cap_reads_the_median_post_so_one_flagged_answer_does_not_decide_it():
    from collections import Counter

    from bench.patient_form import _median

    assert _median(Counter({5: 2, 6: 10, 8: 1})) == 6
    assert _median(Counter({6: 1, 7: 3})) == 7
    assert _median(Counter({6: 2, 7: 2})) == 6.5


def test_the_delivery_sink_reads_each_message_id_and_counts_duplicates_by_it():
    from bench.delivery import invitation_checkin, message_id_of, tally

    raw = (b"Subject: Your check-in\r\nMessage-ID:\r\n <checkin-42-1-invitation@aftercare.example>"
           b"\r\nTo: ada@example.com\r\n\r\nMessage-ID: <not-a-header@body>\r\n")
    assert message_id_of(raw) == "<checkin-42-1-invitation@aftercare.example>"
    assert message_id_of(b"Subject: none\n\nbody") == ""
    assert invitation_checkin("<checkin-42-1-invitation@aftercare.example>") == 42
    assert invitation_checkin("<checkin-42-1-reminder@aftercare.example>") is None

    received = [("<checkin-1-0-invitation@x>", 1.0), ("<checkin-2-0-invitation@x>", 2.0),
                ("<checkin-1-0-invitation@x>", 3.0), ("<checkin-9-0-invitation@x>", 4.0),
                ("<checkin-3-0-reminder@x>", 5.0)]
    counted = tally(received, {1, 2, 3})
    assert (counted.delivered, counted.duplicates, counted.others) == (2, 1, 2)
    assert counted.last_first_arrival == 2.0


def test_the_delivery_rows_judge_the_speed_up_the_ideal_rate_and_duplicates():
    from bench.delivery import Run, Tally, delivery_rows, ideal_rate, process_group_ticks

    assert ideal_rate(4) == 80.0
    assert process_group_ticks("123 (celery worker) S 1 99 99 0 -1 0 0 0 0 0 7 5 0 0") == (99, 12)

    def run(workers, seconds, duplicates=0, sent=400):
        return Run(workers=workers, due=400, seconds=seconds,
                   tally=Tally(delivered=400, duplicates=duplicates, others=0,
                               last_first_arrival=seconds),
                   sweeps_sent=1, cpu_seconds=2.0,
                   database={"sent": sent, "claimed": 0, "stuck": 0, "links": 400})

    rows = delivery_rows({1: run(1, 25.0), 4: run(4, 6.25)})  # 16 and 64 emails/s
    assert [row.verdict for row in rows] == [INFO, PASS, PASS, PASS]
    assert rows[1].ratio == pytest.approx(4.0) and rows[2].ratio == pytest.approx(0.8)

    slow = delivery_rows({1: run(1, 25.0), 4: run(4, 10.0, duplicates=1, sent=399)})
    assert [row.verdict for row in slow] == [INFO, FAIL, FAIL, FAIL]
    assert "399 of 400 sent" in slow[3].note
