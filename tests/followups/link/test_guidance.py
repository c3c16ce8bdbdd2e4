"""The guidance a patient reads after answering: chosen as codes, written by the template."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from followups.assessment import guidance as codes
from followups.assessment.guidance import Guidance, guidance_for_answers
from followups.assessment.rules import Answers, Level, Severity, Trend, assess_answers

S = Severity
QUIET = Answers(rash=S.NONE, breakouts=S.NONE, itching=S.NONE, swelling=S.NONE, pain=S.NONE,
                rash_trend=None, breakouts_trend=None, fever=False, pus=False, hives=False)
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)

# What the patient reads, in English, as it read before the words moved to the template.
EMERGENCY_LINE = ("If your lips, tongue or throat swell, or you find it hard to breathe or "
                  "swallow, call your local emergency number now.")
COMMENT_LINE = ("Thank you for your comment: your clinic will read it. If it is urgent, please "
                "call your clinic now.")
COMMENT_WAITS = ("A member of your clinic will read your message within one business day. If it "
                 "is urgent, please call your clinic now.")
SAFETY_LINE = ("Do not wait for a check-in: call your clinic if you get a fever, pus, swelling "
               "or redness that gets worse or spreads, or intense pain. If your lips, tongue or "
               "throat swell or breathing becomes hard, call your local emergency number at "
               "once.")
AFTERCARE = (
    "Keep the treated area clean.",
    "Wash it with a gentle, mild cleanser that will not clog your pores.",
    "Keep your skin hydrated with a moisturiser.",
    "Stay out of direct sun.",
    "Avoid harsh skincare products, scrubs and exfoliants, and products that contain alcohol.",
    "A cool compress can soothe the skin.",
    "Ask a pharmacist, doctor or nurse before taking or using any medicine, such as "
    "antihistamines or anti-inflammatory creams.",
)


def answers(**changes: object) -> Answers:
    return replace(QUIET, **changes)


@dataclass(frozen=True)
class Read:
    """The rendered guidance: its headline, and each paragraph or list item in order."""

    headline: str
    paragraphs: tuple[str, ...]


class _Parts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts: list[tuple[str, str]] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "p", "li"):
            self._open = tag
            self.parts.append((tag, ""))

    def handle_endtag(self, tag):
        if tag == self._open:
            self._open = None

    def handle_data(self, data):
        if self._open:
            tag, text = self.parts[-1]
            self.parts[-1] = (tag, text + data)


def rendered(guidance: Guidance, *, language: str = "en") -> Read:
    """The guidance as the patient's page writes it, in ``language``."""
    with translation.override(language):
        html = render_to_string("followups/guidance.html",
                                {"guidance": guidance, "level": guidance.level.label})
    parser = _Parts()
    parser.feed(html)
    parts = [(tag, " ".join(text.split())) for tag, text in parser.parts]
    assert all(text for _tag, text in parts), f"an empty block: {html}"
    return Read(headline=next(text for tag, text in parts if tag == "h1"),
                paragraphs=tuple(text for tag, text in parts if tag != "h1"))


def chosen(given_answers: Answers, *, day: int = 2, comment: str = "",
           previous: tuple[Answers, ...] = (), watch_day: int = 10,
           language: str = "en") -> Guidance:
    assessment = assess_answers(answers=given_answers, day=day, previous=previous,
                                known_allergies=(), product_ingredients=(),
                                comment=comment, language=language)
    return guidance_for_answers(assessment=assessment, answers=given_answers, comment=comment,
                                language=language, watch_day=watch_day)


def guidance(given_answers: Answers, *, day: int = 2, comment: str = "",
             previous: tuple[Answers, ...] = (), language: str = "en") -> Read:
    return rendered(chosen(given_answers, day=day, comment=comment, previous=previous,
                           language=language), language=language)


# Answers that reach each level, every symptom with its tips for the calm one.
AT_LEVEL = {
    Level.URGENT: {"given_answers": answers(fever=True)},
    Level.REVIEW: {"given_answers": answers(rash=S.MODERATE, rash_trend=Trend.SAME), "day": 7},
    Level.WATCH: {"given_answers": answers(rash=S.MILD, rash_trend=Trend.SAME), "day": 7},
    Level.NONE: {"given_answers": answers(rash=S.MILD, rash_trend=Trend.SAME, breakouts=S.MILD,
                                          breakouts_trend=Trend.SAME, itching=S.MILD)},
}


def patient_guidance(level: Level) -> Read:
    read = guidance(**AT_LEVEL[level])
    assert chosen(**AT_LEVEL[level]).level is level
    return read


# --------------------------------------------------------------------------- codes, no words


def test_it_chooses_the_guidance_as_codes_and_parameters():
    chosen_guidance = chosen(answers(fever=True, hives=True, swelling=S.MODERATE),
                             comment="my throat")

    assert chosen_guidance.level is Level.URGENT
    assert chosen_guidance.headline.code == codes.SEEK_HELP_NOW
    assert chosen_guidance.codes == (codes.EMERGENCY_LINE, codes.TOLD_US, codes.YOU_WROTE,
                                     codes.URGENT_SIGNS, codes.SEE_A_DOCTOR_TODAY,
                                     codes.CLINIC_TOLD, codes.AFTERCARE, codes.WHEN_TO_GET_HELP,
                                     codes.COMMENT_LINE)
    told, wrote = chosen_guidance.blocks[1:3]
    assert told.params == {"findings": ["FEVER", "SEVERE_SWELLING", "ALLERGY"],
                           "still_normal": False}
    assert wrote.params == {"words": ["throat"]}


def test_it_chooses_the_aftercare_tips_by_code_for_the_symptoms_reported():
    chosen_guidance = chosen(answers(breakouts=S.MILD, breakouts_trend=Trend.SAME))

    (aftercare,) = [block for block in chosen_guidance.blocks if block.code == codes.AFTERCARE]
    assert aftercare.params == {"intro": codes.TO_HELP_HEAL,
                                "tips": ["CLEAN", "CLEANSER", "MOISTURISE", "SUN", "HARSH"]}


def test_it_names_the_watch_day_it_is_given():
    chosen_guidance = chosen(answers(rash=S.MILD, rash_trend=Trend.SAME), day=7, watch_day=12)

    assert chosen_guidance.headline.params == {"day": 12}
    read = rendered(chosen_guidance)
    assert read.headline == "Thank you. We will check on you again on day 12"
    assert "We will check on you again on day 12. Contact your clinic sooner if it gets worse." \
        in read.paragraphs


def test_it_writes_every_aftercare_tip_in_order():
    every_tip = [tip for tip, _symptoms in codes.AFTERCARE_TIPS]
    aftercare = codes.Block(codes.AFTERCARE, {"intro": codes.UNTIL_THEN, "tips": every_tip})

    read = rendered(Guidance(level=Level.REVIEW, headline=codes.Block(codes.CLINIC_WILL_CONTACT),
                             blocks=(aftercare,)))

    assert read.paragraphs == ("Until then, keep looking after your skin:", *AFTERCARE)


# --------------------------------------------------------------------------- patient guidance


def test_it_tells_an_urgent_patient_to_seek_medical_help_now():
    guidance = patient_guidance(Level.URGENT)

    assert "medical help now" in guidance.headline
    assert any("told your clinic" in paragraph for paragraph in guidance.paragraphs)


def test_it_tells_a_patient_under_review_the_clinic_will_call_within_a_business_day():
    guidance = patient_guidance(Level.REVIEW)

    text = " ".join(guidance.paragraphs)
    assert "within one business day" in text
    assert "Stay out of direct sun." in guidance.paragraphs


def test_it_gives_a_patient_healing_as_expected_the_aftercare_advice():
    guidance = patient_guidance(Level.NONE)

    for advice in AFTERCARE:
        assert advice in guidance.paragraphs
    text = " ".join(guidance.paragraphs).lower()
    for words in ("clean", "moisturiser", "direct sun", "harsh", "alcohol", "cool compress"):
        assert words in text


@pytest.mark.parametrize("level", list(Level))
def test_it_writes_patient_guidance_without_jargon(level):
    guidance = patient_guidance(level)
    text = " ".join((guidance.headline, *guidance.paragraphs)).lower()

    for jargon in ("comedogenic", "erythema", "pruritus", "oedema", "edema", "urticaria"):
        assert jargon not in text


# --------------------------------------------------------------------------- guidance per answers


def test_it_names_what_worried_us_on_the_urgent_page():
    text = guidance(answers(fever=True))

    assert text.headline == "Please seek medical help now"
    assert "You told us that you have a fever." in text.paragraphs
    assert EMERGENCY_LINE not in text.paragraphs


def test_it_gives_the_emergency_line_for_hives_with_swelling():
    text = guidance(answers(hives=True, swelling=S.MODERATE))

    assert text.paragraphs[0] == EMERGENCY_LINE


def test_it_gives_the_emergency_line_for_a_throat_word_in_the_comment():
    text = guidance(QUIET, comment="my throat is closing")

    assert text.headline == "Please seek medical help now"
    assert EMERGENCY_LINE in text.paragraphs
    assert COMMENT_LINE in text.paragraphs


def test_it_tells_a_watched_patient_we_check_again_on_day_10():
    text = guidance(answers(rash=S.MILD, rash_trend=Trend.BETTER), day=7,
                    previous=(answers(rash=S.MODERATE, rash_trend=Trend.SAME),))

    joined = " ".join(text.paragraphs)
    assert "we will check on you again on day 10" in text.headline.lower()
    assert "We will check on you again on day 10." in joined
    assert "still have a mild rash" in joined


def test_it_gives_the_aftercare_for_the_symptoms_reported():
    breakouts = guidance(answers(breakouts=S.MILD, breakouts_trend=Trend.SAME))
    itching = guidance(answers(itching=S.MILD))

    assert any("will not clog your pores" in tip for tip in breakouts.paragraphs)
    assert not any("will not clog your pores" in tip for tip in itching.paragraphs)
    assert any("antihistamines" in tip for tip in itching.paragraphs)
    assert not any("cool compress" in tip for tip in itching.paragraphs)
    for everyone in ("Keep the treated area clean.", "Stay out of direct sun."):
        assert everyone in breakouts.paragraphs and everyone in itching.paragraphs


def test_it_says_the_clinic_will_read_a_comment_only_when_there_is_one():
    assert COMMENT_WAITS in guidance(QUIET, comment="Thanks, all fine").paragraphs
    assert COMMENT_LINE in guidance(QUIET, comment="I have a fever").paragraphs
    for paragraph in (COMMENT_LINE, COMMENT_WAITS):
        assert paragraph not in guidance(QUIET).paragraphs


def test_it_tells_a_patient_under_review_what_worried_us_and_when_we_call():
    text = guidance(answers(rash=S.MODERATE, rash_trend=Trend.SAME), day=7)

    joined = " ".join(text.paragraphs)
    assert "You told us that your rash is still there." in joined
    assert "within one business day" in joined


def test_it_writes_several_findings_as_one_sentence():
    text = guidance(answers(fever=True, pus=True, pain=S.SEVERE))

    assert ("You told us that you have a fever, you have pus or discharge and your pain is "
            "severe.") in text.paragraphs


# --------------------------------------------------------------------------- revised guidance
# clinical-reference.md, "Guidance shown to patients" (revised).

# Every level, with and without a comment that waits to be read.
EVERY_PAGE = [
    pytest.param(level, comment, id=f"{level.label}-{'comment' if comment else 'none'}")
    for level in Level for comment in ("", "Can I wear make-up tomorrow?")
]


def page_at(level: Level, comment: str = "", language: str = "en") -> Read:
    return guidance(**AT_LEVEL[level], comment=comment, language=language)


@pytest.mark.parametrize(("level", "comment"), EVERY_PAGE)
def test_every_page_gives_the_full_safety_line(level, comment):
    read = page_at(level, comment)

    assert SAFETY_LINE in read.paragraphs


@pytest.mark.parametrize("language", ["fr", "es"])
@pytest.mark.parametrize(("level", "comment"), EVERY_PAGE)
def test_every_page_gives_the_safety_line_in_the_patients_language(level, comment, language):
    with translation.override(language):
        theirs = translation.gettext(SAFETY_LINE)

    assert theirs != SAFETY_LINE
    assert theirs in page_at(level, comment, language=language).paragraphs


def test_a_patient_with_hives_alone_is_told_when_to_call_the_emergency_number():
    read = guidance(answers(hives=True))

    assert read.headline == "Thank you. Your clinic will contact you"
    assert EMERGENCY_LINE not in read.paragraphs  # no swelling: not the airway line first
    assert SAFETY_LINE in read.paragraphs
    assert "call your local emergency number at once" in SAFETY_LINE


@pytest.mark.parametrize(("level", "comment"), EVERY_PAGE)
def test_no_page_says_healing_as_expected_while_a_comment_waits(level, comment):
    read = page_at(level, comment)
    text = " ".join((read.headline, *read.paragraphs))

    if comment:
        assert "healing as expected" not in text
        assert COMMENT_WAITS in read.paragraphs
    else:
        assert COMMENT_WAITS not in read.paragraphs


def test_a_calm_patient_who_wrote_is_told_a_person_will_read_it_within_a_business_day():
    read = guidance(QUIET, comment="Can I wear make-up tomorrow?")

    assert read.headline == "Thank you. A member of your clinic will read your message"
    assert read.paragraphs[-1] == COMMENT_WAITS


def test_the_urgent_page_gives_the_aftercare_for_what_was_reported():
    read = guidance(answers(fever=True, rash=S.SEVERE, rash_trend=Trend.WORSE))

    assert read.headline == "Please seek medical help now"
    assert "In the meantime, keep looking after your skin:" in read.paragraphs
    for tip in ("Keep the treated area clean.", "A cool compress can soothe the skin.",
                AFTERCARE[-1]):
        assert tip in read.paragraphs


@pytest.mark.parametrize(("level", "comment"), EVERY_PAGE)
def test_no_page_contradicts_the_checkins_that_follow(level, comment):
    text = " ".join(page_at(level, comment).paragraphs)

    # Day 7 (and day 10 after a watch) ask about a rash or breakouts that lasts: no
    # page also asks the patient to wait a week and call.
    assert "more than a week" not in text


def test_the_watch_page_says_when_we_check_again_and_nothing_else_about_waiting():
    read = page_at(Level.WATCH)

    contact = [paragraph for paragraph in read.paragraphs if "clinic" in paragraph]
    assert contact == ["We will check on you again on day 10. Contact your clinic sooner if it "
                       "gets worse.", SAFETY_LINE]


def test_it_names_the_comments_warning_in_the_patients_own_words_and_language():
    english = guidance(QUIET, comment="I think I have a fever and some pus")
    spanish = guidance(QUIET, comment="Creo que tengo fiebre", language="es")
    french = guidance(QUIET, comment="j'ai de la fièvre", language="fr")

    assert "You wrote “fever” and “pus” in your message." in english.paragraphs
    assert "Usted escribió «fiebre» en su mensaje." in spanish.paragraphs
    assert "Vous avez écrit « fièvre » dans votre message." in french.paragraphs
    for read in (english, spanish, french):
        assert not any("in your comment" in paragraph or "de su comentario" in paragraph
                       for paragraph in read.paragraphs)


def test_it_escapes_the_patients_words_on_the_page():
    page = rendered(Guidance(level=Level.REVIEW, headline=codes.Block(codes.CLINIC_WILL_CONTACT),
                             blocks=(codes.Block(codes.YOU_WROTE, {"words": ["<b>pus</b>"]}),)))

    assert page.paragraphs == ("You wrote “<b>pus</b>” in your message.",)


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@pytest.mark.parametrize(("level", "comment"), EVERY_PAGE + [
    pytest.param(Level.URGENT, "my throat feels tight", id="urgent-throat"),
    pytest.param(Level.REVIEW, "a fever last night", id="review-fever-comment")])
def test_every_sentence_is_whole(level, comment, language):
    read = page_at(level, comment, language=language)

    for paragraph in read.paragraphs:
        assert paragraph[:1].isupper() or paragraph[:1] in "«“¿¡", paragraph
        assert paragraph.rstrip()[-1] in ".:", paragraph
        assert "  " not in paragraph and " ." not in paragraph, paragraph
