"""The patient's check-in form: the interface's answer fields, in plain words."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from followups.assessment.rules import Severity, Trend
from followups.link import photos
from followups.models import SEVERITY_CHOICES, CheckInResponse

COMMENTS_MAX_LENGTH = 2000

# The five PRO-CTCAE steps (SEVERITY_CHOICES) are worded as the scale words
# them; the trends as a patient would say them.
# Every text here is the patient's, in their language (locale/): lazy, so it
# is translated when the page is rendered, not when this module is imported.
SEVERITY_LABELS = {
    "none": pgettext_lazy("how bad a symptom is", "None"),
    "mild": pgettext_lazy("how bad a symptom is", "Mild"),
    "moderate": pgettext_lazy("how bad a symptom is", "Moderate"),
    "severe": pgettext_lazy("how bad a symptom is", "Severe"),
    "very_severe": pgettext_lazy("how bad a symptom is", "Very severe"),
}
PATIENT_SEVERITY_CHOICES = [(value, SEVERITY_LABELS[value]) for value, _label in SEVERITY_CHOICES]
TREND_CHOICES = [
    (Trend.BETTER.value, _("Getting better")),
    (Trend.SAME.value, _("About the same")),
    (Trend.WORSE.value, _("Getting worse")),
]
YES_NO_CHOICES = [("yes", _("Yes")), ("no", _("No"))]

SEVERITY_QUESTIONS = {
    "rash": _("Rash or redness"),
    "breakouts": _("Breakouts or pimples"),
    "itching": _("Itching"),
    "swelling": _("Swelling"),
    "pain": _("Pain"),
}
# Asked only about a symptom the patient has: (symptom, question, words for the message).
TREND_QUESTIONS = {
    "rash_trend": ("rash", _("Is the rash or redness getting better or worse?"),
                   _("a rash or redness")),
    "breakouts_trend": (
        "breakouts",
        _("Are the breakouts or pimples getting better or worse?"),
        _("breakouts or pimples"),
    ),
}
# ...and the same symptoms after "You said you have no".
TREND_ABSENT_WORDS = {
    "rash_trend": pgettext_lazy("symptoms the patient said they do not have", "rash or redness"),
    "breakouts_trend": pgettext_lazy("symptoms the patient said they do not have",
                                     "breakouts or pimples"),
}
YES_NO_QUESTIONS = {
    "fever": _("Fever (feeling hot, shivery, or a temperature)"),
    "pus": _("Pus or fluid from the treated skin or spots"),
    "hives": _("Hives (raised, itchy welts)"),
}

PHOTO_MESSAGES = {
    "too_large": _("The photo is too big. Choose a photo smaller than {mb} MB."),
    "empty": _("The photo file is empty. Choose another photo."),
    "too_many_pixels": _("The photo is too big. Choose a smaller photo or take a new one."),
    "not_an_image": _("The photo must be a JPEG, PNG or WebP picture. Choose another photo."),
}

CHOOSE_ONE_SHOWN = _("Choose one of the answers shown.")
TREND_REQUIRED = _("You said you have {words}: choose whether it is getting better, "
                   "about the same, or getting worse.")
TREND_NOT_ASKED = _("You said you have no {words}: leave whether it is getting better or "
                    "worse empty.")


class _CopiedShallow:
    """A field each form gets a shallow copy of, sharing its widget and choices.

    Django deep-copies every field for every form, so that a form may change
    its fields in place. This form changes none in place (``__init__`` only
    assigns the photo's help text, which a shallow copy keeps to itself), and
    those deep copies were the largest part of reading a patient's answers
    that no query or rule accounts for (README, "Benchmark").
    """

    def __deepcopy__(self, memo):
        result = copy.copy(self)
        memo[id(self)] = result
        return result


class _ChoiceField(_CopiedShallow, forms.ChoiceField):
    pass


class _TypedChoiceField(_CopiedShallow, forms.TypedChoiceField):
    pass


class _FileField(_CopiedShallow, forms.FileField):
    pass


def _severity_field(label) -> forms.ChoiceField:
    return _ChoiceField(
        label=label, choices=PATIENT_SEVERITY_CHOICES, widget=forms.RadioSelect,
        error_messages={
            "required": format_lazy(
                _("Choose an answer for “{label}”. If you have none, choose “None”."),
                label=label),
            "invalid_choice": CHOOSE_ONE_SHOWN,
        },
    )


def _trend_field(label, symptom_words) -> forms.ChoiceField:
    return _ChoiceField(
        label=label, choices=TREND_CHOICES, widget=forms.RadioSelect, required=False,
        help_text=format_lazy(_("Answer this if you have {words}."), words=symptom_words),
        error_messages={"invalid_choice": CHOOSE_ONE_SHOWN},
    )


def _yes_no_field(label) -> forms.TypedChoiceField:
    return _TypedChoiceField(
        label=label, choices=YES_NO_CHOICES, widget=forms.RadioSelect,
        coerce=lambda value: value == "yes",
        error_messages={
            "required": format_lazy(_("Choose yes or no for “{label}”."), label=label),
            "invalid_choice": CHOOSE_ONE_SHOWN,
        },
    )


class CommentsField(_CopiedShallow, forms.CharField):
    def to_python(self, value):
        # Browsers count a line break as one character towards maxlength but
        # send it as two; count it as the patient saw it.
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


class CheckInForm(forms.Form):
    """Validates the patient's answers; ``answers()`` is what ``response_record`` takes."""

    # request.POST (a QueryDict), Django's empty MultiValueDict when unbound, or
    # a dict: each can be copied and changed, as clean() does.
    data: MultiValueDict[str, Any] | dict[str, Any]

    rash = _severity_field(SEVERITY_QUESTIONS["rash"])
    rash_trend = _trend_field(TREND_QUESTIONS["rash_trend"][1], TREND_QUESTIONS["rash_trend"][2])
    breakouts = _severity_field(SEVERITY_QUESTIONS["breakouts"])
    breakouts_trend = _trend_field(TREND_QUESTIONS["breakouts_trend"][1],
                                   TREND_QUESTIONS["breakouts_trend"][2])
    itching = _severity_field(SEVERITY_QUESTIONS["itching"])
    swelling = _severity_field(SEVERITY_QUESTIONS["swelling"])
    pain = _severity_field(SEVERITY_QUESTIONS["pain"])
    fever = _yes_no_field(YES_NO_QUESTIONS["fever"])
    pus = _yes_no_field(YES_NO_QUESTIONS["pus"])
    hives = _yes_no_field(YES_NO_QUESTIONS["hives"])
    comments = CommentsField(
        label=_("Anything else you want to tell your clinic? (optional)"),
        required=False, max_length=COMMENTS_MAX_LENGTH, strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        # Said before the limit is met: the box (maxlength) takes no more, and
        # with no script on the page there is no live counter.
        help_text=format_lazy(_("Up to {limit} characters. The box stops taking text at "
                                "the limit: to say more, call your clinic."),
                              limit=COMMENTS_MAX_LENGTH),
        error_messages={
            "max_length": _("Keep your message to %(limit_value)d characters or fewer "
                            "(it has %(show_value)d)."),
        },
    )
    photo = _FileField(
        label=_("A photo of the treated skin (optional)"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("A JPEG, PNG or WebP photo. Only your clinic will see it."),
        error_messages={
            "empty": PHOTO_MESSAGES["empty"],
            "invalid": PHOTO_MESSAGES["not_an_image"],
        },
    )

    # The page's headings: (heading, intro, field names), in the order asked.
    SECTIONS = (
        (_("How much of each do you have today?"),
         _("For each one, choose how bad it is at its worst today."),
         ("rash", "rash_trend", "breakouts", "breakouts_trend", "itching", "swelling", "pain")),
        (_("Do you have any of these today?"), "", ("fever", "pus", "hives")),
        (_("Anything else?"), "", ("comments", "photo")),
    )
    # Shown (CSS :has()) only once their symptom is answered as present.
    TREND_NAMES = tuple(TREND_QUESTIONS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = format_lazy(
            _("A JPEG, PNG or WebP photo, up to {mb} MB. Only your clinic will see it."),
            mb=self._photo_max_megabytes(),
        )

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return photos.photo_reencode(upload)
        except photos.PhotoRejected as rejected:
            megabytes = self._photo_max_megabytes()
            raise ValidationError(format_lazy(PHOTO_MESSAGES[rejected.reason], mb=megabytes),
                                  code=rejected.reason) from None

    @staticmethod
    def _photo_max_megabytes() -> int:
        return settings.PHOTO_MAX_BYTES // (1024 * 1024)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        # Whether a trend is needed, or refused for a symptom rated "None", is
        # the answers' own rule (the staff API gives the same error): shown
        # here as the model words it, for the symptoms answered without an error.
        answers = CheckInResponse(**{name: cleaned.get(name) or Severity.NONE.value_name
                                     for name in ("rash", "breakouts")},
                                  **{name: cleaned.get(name) or ""
                                     for name in CheckInResponse.TREND_OF})
        try:
            answers.clean()
        except ValidationError as error:
            for trend_name, messages in error.error_dict.items():
                if trend_name not in self.errors:
                    self.add_error(trend_name, [_patient_words(trend_name, message)
                                                for message in messages])
                if any(message.code == "trend_without_symptom" for message in messages):
                    # A radio button cannot be unticked without a script: the
                    # form comes back with that trend cleared, for a resubmit.
                    self.data = self.data.copy()
                    self.data.pop(trend_name, None)
        return cleaned

    def sections(self):
        """(heading, intro, bound fields) for the template, in the order asked."""
        return [(heading, intro, [self[name] for name in names])
                for heading, intro, names in self.SECTIONS]

    def answers(self) -> dict:
        """The answers as ``response_record`` expects them (the photo goes separately)."""
        fields = (*CheckInResponse.SEVERITY_FIELDS, *CheckInResponse.TREND_FIELDS,
                  *CheckInResponse.YES_NO_FIELDS, "comments")
        return {name: self.cleaned_data[name] for name in fields}


def _patient_words(trend_name: str, message: ValidationError) -> ValidationError:
    """The model's message about a trend, in the patient's words and language."""
    words = TREND_QUESTIONS[trend_name][2]
    if message.code == "trend_required":
        return ValidationError(format_lazy(TREND_REQUIRED, words=words), code=message.code)
    if message.code == "trend_without_symptom":
        return ValidationError(format_lazy(TREND_NOT_ASKED, words=TREND_ABSENT_WORDS[trend_name]),
                               code=message.code)
    return message
