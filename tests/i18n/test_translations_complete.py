"""No patient-facing text is left in English on a French or Spanish patient's pages.

Three nets: every catalogue entry (locale/) is translated with its
placeholders kept; every guidance block and every reason's message, written
from its codes in French and in Spanish, keeps no word of the English; and
every text a patient can see on the real pages and emails, rendered in French
and in Spanish, differs from the English page's.
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone, translation

from followups.assessment import guidance
from followups.assessment.guidance import Block, Guidance
from followups.assessment.rules import Level
from followups.delivery.sweep import followups_sweep
from followups.escalations.messages import reason_message
from tests.factories import PatientFactory, session_with_checkins
from tests.followups.escalations.test_reason_messages import every_reason
from tests.followups.link.test_guidance import rendered
from tests.followups.link.test_patient_form import FORM_ANSWERS, LINK, link_url

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ("fr", "es")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
# Words spelt the same in English and the patient's language.
SAME_WORD = {("es", "No"), ("es", "Error:"), ("fr", "Pus"), ("fr", "Mail")}
# Names, not words: the clinic, its phone, the languages' own names, file formats.
NAMES = re.compile(r"^(Riverside Skin Clinic|\+44 20 7946 0000|English|Français|Español|"
                   r"[–:.,()\s\d]+)$")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalogue_entry_is_translated_with_its_placeholders(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))

    assert catalogue.untranslated_entries() == []
    assert catalogue.fuzzy_entries() == []
    for entry in catalogue:
        assert sorted(PLACEHOLDER.findall(entry.msgstr)) == sorted(
            PLACEHOLDER.findall(entry.msgid)), entry.msgid
        assert (language, entry.msgid) in SAME_WORD or entry.msgstr != entry.msgid


def _messages(compiled: Path) -> dict:
    """Every message a compiled catalogue gives gettext: msgid (with context, plural) to text."""
    with compiled.open("rb") as stream:
        return dict(gettext.GNUTranslations(stream)._catalog)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_catalogue_says_what_its_po_says(language, tmp_path):
    # The .mo files are committed (docs/operations.md): one that differs from
    # its .po, entry by entry, was not compiled again after an edit. Modification
    # times say nothing here: a fresh clone writes both files at checkout.
    source = LOCALE / language / "LC_MESSAGES" / "django.po"
    compiled = source.with_suffix(".mo")
    assert compiled.exists(), f"{compiled} missing: run `make messages`"
    fresh = tmp_path / "django.mo"
    polib.pofile(str(source)).save_as_mofile(str(fresh))

    committed, expected = _messages(compiled), _messages(fresh)
    differing = sorted(str(key) for key in committed.keys() ^ expected.keys()) + sorted(
        str(key) for key in committed.keys() & expected.keys() if committed[key] != expected[key])
    assert differing == [], f"{compiled} is stale against its .po: run `make messages`"


# Words spelt the same in English and the language, inside a translated sentence.
SAME_INSIDE = {"fr": {"pus", "urgent", "patient", "intense", "infection", "exfoliants", "direct",
                      "message", "local",
                      "pores"},
               "es": {"pus", "normal", "alcohol"}}
WORD = re.compile(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*")


def _english_left(english: str, translated: str, *, language: str,
                  theirs: Iterable[object] = ()) -> set[str]:
    """English words of ``english`` still in ``translated`` (not names the text was given)."""
    given = {word.lower() for value in theirs for word in WORD.findall(str(value))}
    words = {word.lower() for word in WORD.findall(english) if len(word) > 3}
    found = {word.lower() for word in WORD.findall(translated)}
    return (words & found) - given - SAME_INSIDE[language]


def _every_guidance_part() -> list[Guidance]:
    """Every headline, and every block in each shape its parameters give it."""
    parts = [Guidance(level=Level.REVIEW, headline=Block(code, {"day": 10}), blocks=())
             for code in guidance.HEADLINE_CODES]
    every_tip = [tip for tip, _symptoms in guidance.AFTERCARE_TIPS]
    shapes = {
        guidance.TOLD_US: [*({"findings": [code], "still_normal": False}
                             for code in guidance.TOLD_US_CODES),
                           {"findings": list(guidance.TOLD_US_CODES), "still_normal": True}],
        guidance.AFTERCARE: [{"intro": intro, "tips": every_tip}
                             for intro in guidance.AFTERCARE_INTROS],
        guidance.WATCH_DAY: [{"day": 10}],
        # The patient's own words, quoted: theirs, whatever the page's language.
        guidance.YOU_WROTE: [{"words": ["fiebre"]}, {"words": ["fièvre", "gorge", "pus"]}],
    }
    for code in guidance.BLOCK_CODES:
        for params in shapes.get(code, [{}]):
            parts.append(Guidance(level=Level.REVIEW,
                                  headline=Block(guidance.HEALING_AS_EXPECTED),
                                  blocks=(Block(code, params),)))
    return parts


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_guidance_block_is_written_in_the_patients_language(language):
    left = {}
    for part in _every_guidance_part():
        english, theirs = rendered(part), rendered(part, language=language)
        written = [word for block in part.blocks for word in block.params.get("words", ())]
        for before, after in zip((english.headline, *english.paragraphs),
                                 (theirs.headline, *theirs.paragraphs), strict=True):
            if english_words := _english_left(before, after, language=language,
                                              theirs=written):
                left[before] = english_words
    assert left == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reason_is_written_in_each_language(language):
    left = {}
    for reason in every_reason():
        with translation.override("en"):
            english = reason_message(reason.as_dict())
        with translation.override(language):
            theirs = reason_message(reason.as_dict())
        assert "{" not in theirs and "%(" not in theirs, theirs
        # What the patient wrote, the session's ingredients, the mail server's error: theirs.
        given = [value for key, value in reason.params.items()
                 if key in ("words", "ingredients", "why")]
        if english_words := _english_left(english, theirs, language=language, theirs=given):
            left[english] = english_words
    assert left == {}


class _Text(HTMLParser):
    """What a patient reads or hears: text, and the labels a screen reader says."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "alt", "placeholder", "title") and value:
                self.parts.append(value.strip())

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(" ".join(data.split()))


def _texts(html: str) -> list[str]:
    parser = _Text()
    parser.feed(html)
    return parser.parts


def _latest_token(patient) -> str:
    # The sweep also alerts the clinic about an urgent answer: the patient's email.
    email = [email for email in mail.outbox if email.to == [patient.email]][-1]
    return LINK.search(email.body).group(1)


def _pages(client, patient, language: str | None) -> dict[str, str]:
    """Every page and email a patient sees, rendered with ?lang=language."""
    query = f"?lang={language}" if language else ""
    session_with_checkins(patient=patient, performed_at=timezone.now() - timedelta(days=3))
    with translation.override(language or "en"):
        patient.language = language or "en"
        patient.save(update_fields=["language"])
        followups_sweep()
    email = mail.outbox[-1]
    token = LINK.search(email.body).group(1)
    url = link_url(token) + query
    every_error = {"rash": "mild", "breakouts": "moderate", "comments": "x" * 2001}
    pages = {
        "email text": email.subject + "\n" + email.body.replace(LINK.search(email.body)[0], ""),
        "email html": email.alternatives[0][0],
        "form": client.get(url).content.decode(),
        "form with errors": client.post(url, every_error).content.decode(),
        "dead link": client.get(link_url("y" * 43) + query).content.decode(),
    }
    for level, answers in (("urgent", {"fever": "yes"}),
                           ("review", {"pain": "severe"}),
                           ("none", {"comments": "Fine, thanks."})):
        session = session_with_checkins(patient=patient,
                                        performed_at=timezone.now() - timedelta(days=3))
        followups_sweep()
        token = _latest_token(patient)
        assert session.pk
        page = client.post(link_url(token) + query, {**FORM_ANSWERS, **answers})
        # The result page holds every language; the one shown is the patient's.
        pages[f"guidance {level}"] = re.sub(r'<section class="result-lang" .*?</section>', "",
                                            page.content.decode(), flags=re.DOTALL)
    return pages


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_no_english_is_left_on_a_patients_pages(client, clinic, settings, language):
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)
    patient = PatientFactory(clinic=clinic, first_name="Sam", last_name="Lee")
    english = _pages(client, patient, None)
    translated = _pages(client, patient, language)

    left = {}
    for name, page in english.items():
        theirs = set(_texts(translated[name]))
        same = [text for text in _texts(page) if text in theirs and not NAMES.match(text)
                and (language, text) not in SAME_WORD and re.search(r"[A-Za-z]{2}", text)
                and "Sam" not in text and not set(text) <= {"x"}]  # the patient's own words
        if same:
            left[name] = same
    assert left == {}
