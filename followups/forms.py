"""The patient's check-in form: the interface's answer fields, in plain words."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from followups import photos
from followups.models import SEVERITY_CHOICES, CheckInResponse
from followups.rules import Severity, Trend

COMMENTS_MAX_LENGTH = 2000

# The five PRO-CTCAE steps (SEVERITY_CHOICES) are worded as the scale words
# them; the trends as a patient would say them.
TREND_CHOICES = [
    (Trend.BETTER.value, "Getting better"),
    (Trend.SAME.value, "About the same"),
    (Trend.WORSE.value, "Getting worse"),
]
YES_NO_CHOICES = [("yes", "Yes"), ("no", "No")]

SEVERITY_QUESTIONS = {
    "rash": "Rash or redness",
    "breakouts": "Breakouts or pimples",
    "itching": "Itching",
    "swelling": "Swelling",
    "pain": "Pain",
}
# Asked only about a symptom the patient has: (symptom, question, words for the message).
TREND_QUESTIONS = {
    "rash_trend": ("rash", "Is the rash or redness getting better or worse?", "a rash or redness"),
    "breakouts_trend": (
        "breakouts",
        "Are the breakouts or pimples getting better or worse?",
        "breakouts or pimples",
    ),
}
YES_NO_QUESTIONS = {
    "fever": "Fever (feeling hot, shivery, or a temperature)",
    "pus": "Pus or fluid from the treated skin or spots",
    "hives": "Hives (raised, itchy welts)",
}

PHOTO_MESSAGES = {
    "too_large": "The photo is too big. Choose a photo smaller than {mb} MB.",
    "empty": "The photo file is empty. Choose another photo.",
    "too_many_pixels": "The photo is too big. Choose a smaller photo or take a new one.",
    "not_an_image": "The photo must be a JPEG, PNG or WebP picture. Choose another photo.",
}

CHOOSE_ONE_SHOWN = "Choose one of the answers shown."


def _severity_field(label: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, choices=SEVERITY_CHOICES, widget=forms.RadioSelect,
        error_messages={
            "required": f"Choose an answer for “{label}”. If you have none, choose “None”.",
            "invalid_choice": CHOOSE_ONE_SHOWN,
        },
    )


def _trend_field(label: str, symptom_words: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label, choices=TREND_CHOICES, widget=forms.RadioSelect, required=False,
        help_text=f"Answer this if you have {symptom_words}.",
        error_messages={"invalid_choice": CHOOSE_ONE_SHOWN},
    )


def _yes_no_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=YES_NO_CHOICES, widget=forms.RadioSelect,
        coerce=lambda value: value == "yes",
        error_messages={
            "required": f"Choose yes or no for “{label}”.",
            "invalid_choice": CHOOSE_ONE_SHOWN,
        },
    )


class CommentsField(forms.CharField):
    def to_python(self, value):
        # Browsers count a line break as one character towards maxlength but
        # send it as two; count it as the patient saw it.
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


class CheckInForm(forms.Form):
    """Validates the patient's answers; ``answers()`` is what ``response_record`` takes."""

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
        label="Anything else you want to tell your clinic? (optional)",
        required=False, max_length=COMMENTS_MAX_LENGTH, strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"Up to {COMMENTS_MAX_LENGTH} characters.",
        error_messages={
            "max_length": "Keep your message to %(limit_value)d characters or fewer "
                          "(it has %(show_value)d).",
        },
    )
    photo = forms.FileField(
        label="A photo of the treated skin (optional)", required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
        help_text="A JPEG, PNG or WebP photo. Only your clinic will see it.",
        error_messages={
            "empty": PHOTO_MESSAGES["empty"],
            "invalid": PHOTO_MESSAGES["not_an_image"],
        },
    )

    # The page's headings: (heading, intro, field names), in the order asked.
    SECTIONS = (
        ("How much of each do you have today?",
         "For each one, choose how bad it is at its worst today.",
         ("rash", "rash_trend", "breakouts", "breakouts_trend", "itching", "swelling", "pain")),
        ("Do you have any of these today?", "", ("fever", "pus", "hives")),
        ("Anything else?", "", ("comments", "photo")),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photo"].help_text = (
            f"A JPEG, PNG or WebP photo, up to {self._photo_max_megabytes()} MB. "
            "Only your clinic will see it."
        )

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return photos.photo_reencode(upload)
        except photos.PhotoRejected as rejected:
            megabytes = self._photo_max_megabytes()
            raise ValidationError(PHOTO_MESSAGES[rejected.reason].format(mb=megabytes),
                                  code=rejected.reason) from None

    @staticmethod
    def _photo_max_megabytes() -> int:
        return settings.PHOTO_MAX_BYTES // (1024 * 1024)

    def clean(self):
        cleaned = super().clean()
        for trend_name, (symptom, _words) in CheckInResponse.TREND_OF.items():
            if cleaned.get(symptom) == Severity.NONE.value_name:
                # The trend is only asked about a symptom the patient has; a
                # stray "getting worse" next to "None" must not raise a flag.
                cleaned[trend_name] = ""
        # Whether a trend is needed is the answers' own rule: shown here as the
        # model words it, for the symptoms answered without an error.
        answers = CheckInResponse(**{name: cleaned.get(name) or Severity.NONE.value_name
                                     for name in ("rash", "breakouts")},
                                  **{name: cleaned.get(name) or ""
                                     for name in CheckInResponse.TREND_OF})
        try:
            answers.clean()
        except ValidationError as error:
            for trend_name, messages in error.error_dict.items():
                if trend_name not in self.errors:
                    self.add_error(trend_name, messages)
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
