"""The patient's check-in form: the interface's answer fields, in plain words."""

from __future__ import annotations

import copy
import functools
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from followups.assessment import symptoms
from followups.assessment.symptoms import Scale, Severity, Symptom, Text, Trend
from followups.link import photos
from followups.models import COMMENTS_MAX_LENGTH, CheckInResponse


def patient_words(text: Text):
    """A text of the symptom catalogue in the patient's language.

    Lazy, as every text here: translated when the page is rendered, in the
    patient's language (locale/), not when this module is imported.
    """
    if text.context:
        return pgettext_lazy(text.context, text.msgid)
    return _(text.msgid)


# The five PRO-CTCAE steps are worded as the scale words them; the trends as a
# patient would say them (followups.assessment.symptoms).
PATIENT_SEVERITY_CHOICES = [(step.value_name, patient_words(step.patient_label))
                            for step in Severity]
TREND_CHOICES = [(trend.value, patient_words(trend.patient_label)) for trend in Trend]
YES_NO_CHOICES = [("yes", _("Yes")), ("no", _("No"))]

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


def _severity_field(label) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, choices=PATIENT_SEVERITY_CHOICES, widget=forms.RadioSelect,
        error_messages={
            "required": format_lazy(
                _("Choose an answer for “{label}”. If you have none, choose “None”."),
                label=label),
            "invalid_choice": CHOOSE_ONE_SHOWN,
        },
    )


def _trend_field(label, symptom_words) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, choices=TREND_CHOICES, widget=forms.RadioSelect, required=False,
        help_text=format_lazy(_("Answer this if you have {words}."), words=symptom_words),
        error_messages={"invalid_choice": CHOOSE_ONE_SHOWN},
    )


def _yes_no_field(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=YES_NO_CHOICES, widget=forms.RadioSelect,
        coerce=lambda value: value == "yes",
        error_messages={
            "required": format_lazy(_("Choose yes or no for “{label}”."), label=label),
            "invalid_choice": CHOOSE_ONE_SHOWN,
        },
    )


class CommentsField(forms.CharField):
    def to_python(self, value):
        # Browsers count a line break as one character towards maxlength but
        # send it as two; count it as the patient saw it.
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


@functools.cache
def _question_fields(catalogue: tuple[Symptom, ...]) -> dict[str, forms.Field]:
    """A field for each question of the catalogue, in the order asked: a symptom, then its trend.

    Made once per catalogue; each form gets its own copies, as Django's declared fields do.
    """
    fields: dict[str, forms.Field] = {}
    for symptom in catalogue:
        question = patient_words(symptom.question)
        fields[symptom.name] = (_severity_field(question) if symptom.scale is Scale.SEVERITY
                                else _yes_no_field(question))
        if symptom.trend is not None:
            fields[symptom.trend_name] = _trend_field(patient_words(symptom.trend.question),
                                                      patient_words(symptom.trend.words))
    return fields


class CheckInForm(forms.Form):
    """Validates the patient's answers; ``answers()`` is what ``response_record`` takes.

    Its questions are the symptom catalogue's (followups.assessment.symptoms),
    asked before the comments and the photo declared here.
    """

    # request.POST (a QueryDict), Django's empty MultiValueDict when unbound, or
    # a dict: each can be copied and changed, as clean() does.
    data: MultiValueDict[str, Any] | dict[str, Any]

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
    photo = forms.FileField(
        label=_("A photo of the treated skin (optional)"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text=_("A JPEG, PNG or WebP photo. Only your clinic will see it."),
        error_messages={
            "empty": PHOTO_MESSAGES["empty"],
            "invalid": PHOTO_MESSAGES["not_an_image"],
        },
    )

    # The page's headings of each scale's questions: (heading, intro), in the order asked.
    SCALE_HEADINGS = {
        Scale.SEVERITY: (_("How much of each do you have today?"),
                         _("For each one, choose how bad it is at its worst today.")),
        Scale.YES_NO: (_("Do you have any of these today?"), ""),
    }
    LAST_SECTION = (_("Anything else?"), "", ("comments", "photo"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.symptoms = symptoms.SYMPTOMS
        self.fields = {**{name: copy.deepcopy(field)
                          for name, field in _question_fields(self.symptoms).items()},
                       **self.fields}
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
        trend_of = CheckInResponse.TREND_OF
        answers = CheckInResponse(**{symptom.name: cleaned.get(symptom.name)
                                     or Severity.NONE.value_name
                                     for symptom in trend_of.values()},
                                  **{name: cleaned.get(name) or "" for name in trend_of})
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

    @property
    def trend_names(self) -> tuple[str, ...]:
        """The trend questions, shown (CSS :has()) once their symptom is answered as present."""
        return tuple(symptom.trend_name for symptom in self.symptoms if symptom.trend is not None)

    def sections(self):
        """(heading, intro, bound fields) for the template, in the order asked.

        One section per scale, in the order its first symptom is asked; each
        symptom's trend question right after it.
        """
        names_on: dict[Scale, list[str]] = {}
        for symptom in self.symptoms:
            names = names_on.setdefault(symptom.scale, [])
            names.append(symptom.name)
            if symptom.trend is not None:
                names.append(symptom.trend_name)
        sections = [(*self.SCALE_HEADINGS[scale], names) for scale, names in names_on.items()]
        return [(heading, intro, [self[name] for name in names])
                for heading, intro, names in (*sections, self.LAST_SECTION)]

    def answers(self) -> dict:
        """The answers as ``response_record`` expects them (the photo goes separately)."""
        return {name: self.cleaned_data[name] for name in self.fields if name != "photo"}


def _patient_words(trend_name: str, message: ValidationError) -> ValidationError:
    """The model's message about a trend, in the patient's words and language."""
    trend = CheckInResponse.TREND_OF[trend_name].trend
    assert trend is not None
    if message.code == "trend_required":
        return ValidationError(format_lazy(TREND_REQUIRED, words=patient_words(trend.words)),
                               code=message.code)
    if message.code == "trend_without_symptom":
        return ValidationError(format_lazy(TREND_NOT_ASKED,
                                           words=patient_words(trend.absent_words)),
                               code=message.code)
    return message
