"""The benchmark's verdicts and table, without running it (``python -m bench`` does that)."""

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
    from bench.sweep import raw_invitation
    from followups.emails import checkin_email
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
    row = (7, 2, due_at, 2, "Ada <b>", "ada@example.com", "Skin & Co", clinic_phone,
           clinic_email, "Europe/London")

    product = checkin_email(checkin, token="the-token", reminder=False)
    raw = raw_invitation(row, "the-token")

    for attribute in ("subject", "body", "from_email", "to", "cc", "bcc", "reply_to",
                      "extra_headers", "alternatives"):
        assert getattr(raw, attribute) == getattr(product, attribute), attribute
    assert "https://aftercare.example/c/the-token/" in raw.body
