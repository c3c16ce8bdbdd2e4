"""The symptom catalogue: each symptom declared once, and what asks about it built from it."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import path
from drf_spectacular.generators import SchemaGenerator

from followups.api.checkins import CheckInViewSet, ResponseSerializer
from followups.assessment import symptoms
from followups.assessment.rules import Answers
from followups.assessment.symptoms import Scale, Severity, Symptom, Text, Trend
from followups.link.forms import CheckInForm
from followups.models import CheckInResponse

# A symptom the catalogue does not have, added to it in memory only: it has no
# column, so only what reads the catalogue (not the table) is asked about it.
BRUISING = Symptom(name="bruising", scale=Scale.SEVERITY, label="Bruising",
                   question=Text.gettext_noop("Bruising"))

FORM_ANSWERS = {
    "rash": "mild", "rash_trend": "better", "breakouts": "none", "itching": "none",
    "swelling": "mild", "pain": "none", "fever": "no", "pus": "no", "hives": "no",
}


@pytest.fixture
def with_bruising(monkeypatch):
    monkeypatch.setattr(symptoms, "SYMPTOMS", (*symptoms.SYMPTOMS, BRUISING))


def test_it_keeps_the_interfaces_answer_fields_in_the_order_asked():
    assert symptoms.answer_names() == (
        "rash", "rash_trend", "breakouts", "breakouts_trend", "itching", "swelling", "pain",
        "fever", "pus", "hives",
    )
    assert symptoms.severity_names() == ("rash", "breakouts", "itching", "swelling", "pain")
    assert symptoms.yes_no_names() == ("fever", "pus", "hives")


def test_it_stores_each_answer_field_in_a_column_of_its_own():
    columns = {field.name: field for field in CheckInResponse._meta.concrete_fields}

    for name in symptoms.severity_names():
        assert columns[name].choices == Severity.choices()
    for name in symptoms.trend_names():
        assert columns[name].choices == Trend.choices()
        assert columns[name].blank
    for name in symptoms.yes_no_names():
        assert columns[name].get_internal_type() == "BooleanField"


@pytest.mark.parametrize("language", ["fr", "es"])
def test_every_patient_text_of_the_catalogue_is_translated(language):
    catalogue = polib.pofile(str(Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES"
                                 / "django.po"))
    translated = {(entry.msgctxt or "", entry.msgid) for entry in catalogue.translated_entries()}
    texts = [*(step.patient_label for step in Severity),
             *(trend.patient_label for trend in Trend)]
    for symptom in symptoms.SYMPTOMS:
        texts.append(symptom.question)
        if symptom.trend is not None:
            texts += [symptom.trend.question, symptom.trend.words, symptom.trend.absent_words]

    assert [text for text in texts if (text.context, text.msgid) not in translated] == []


def test_it_asks_the_patient_about_a_symptom_added_to_the_catalogue(with_bruising):
    form = CheckInForm()

    severity_section = form.sections()[0]
    assert [field.name for field in severity_section[2]][-1] == "bruising"
    assert form.fields["bruising"].label == "Bruising"
    assert [value for value, _label in form.fields["bruising"].choices] == [
        "none", "mild", "moderate", "severe", "very_severe"]


def test_the_form_requires_and_returns_a_symptom_added_to_the_catalogue(with_bruising):
    unanswered = CheckInForm(FORM_ANSWERS)
    answered = CheckInForm({**FORM_ANSWERS, "bruising": "moderate"})

    assert "bruising" in unanswered.errors
    assert answered.is_valid(), answered.errors
    assert answered.answers()["bruising"] == "moderate"


def test_the_api_takes_a_symptom_added_to_the_catalogue(with_bruising):
    unanswered = ResponseSerializer(data={**FORM_ANSWERS, "fever": False, "pus": False,
                                          "hives": False})
    answered = ResponseSerializer(data={**unanswered.initial_data, "bruising": "severe"})

    assert not unanswered.is_valid()
    assert "bruising" in unanswered.errors
    assert answered.is_valid(), answered.errors
    assert answered.validated_data["bruising"] == "severe"


def test_the_openapi_document_shows_a_symptom_added_to_the_catalogue(with_bruising):
    # The answers' endpoint alone: the check-in's nested answers are documented by
    # a serializer made at import, whose fields are read once and kept.
    answers = path("api/checkins/<int:pk>/response/",
                   CheckInViewSet.as_view({"post": "response"}))
    schema = SchemaGenerator(patterns=[answers]).get_schema(request=None, public=True)
    components = schema["components"]["schemas"]

    for component in ("Response", "ResponseRequest"):
        assert components[component]["properties"]["bruising"] == {
            "$ref": "#/components/schemas/SeverityEnum"}
    assert "bruising" in components["ResponseRequest"]["required"]


def test_the_rules_require_and_read_a_symptom_added_to_the_catalogue(with_bruising):
    data = {**FORM_ANSWERS, "breakouts_trend": ""}

    with pytest.raises(ValueError, match="bruising"):
        Answers.from_mapping(data)
    answers = Answers.from_mapping({**data, "bruising": "mild"})
    assert answers.bruising is Severity.MILD
    assert answers.values["bruising"] is Severity.MILD
    with pytest.raises(TypeError, match="bruising"):
        Answers(**{**answers.values, "bruising": "mild"})
