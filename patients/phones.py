"""Phone numbers read as numbers: in the clinic's country, mobile or not.

libphonenumber (through django-phonenumber-field) parses what staff type,
stores E.164, and says what kind of line a number is: a number that can
only be a landline cannot receive a text message.

The models call these from their checks, so the patient or clinic passed in
is typed ``Any``: this module never imports the models back.
"""

from __future__ import annotations

from typing import Any

import phonenumbers
from django import forms
from django.core.exceptions import ValidationError
from phonenumber_field.modelfields import PhoneNumberField
from phonenumber_field.phonenumber import PhoneNumber

# Types of number a text can reach; FIXED_LINE_OR_MOBILE is where a country's
# numbering does not tell them apart (the US, Canada): given the benefit of the doubt.
TEXTABLE = {phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


class PhoneField(PhoneNumberField):
    """A number stored E.164, typed as text and read in the clinic's country by the model.

    django-phonenumber-field's own form and validator read a number in one
    country fixed in the settings; ours are read in the clinic's
    (``phone_normalise``, from the model's ``clean_fields``), so forms and
    the API take the text as typed and the model says whether it is a number.
    """

    default_validators: list = []

    def formfield(self, **kwargs):
        return forms.CharField(max_length=40, required=not self.blank,
                               label=self.verbose_name.capitalize(), help_text=self.help_text)


INVALID = "Enter a valid phone number: with its country code (e.g. +33612345678), or as " \
          "dialled in the clinic's country."


def phone_read(value: object, *, country: str) -> PhoneNumber | None:
    """``value`` as a number, read in ``country`` when it has no +code; None when it is none.

    Returns the number even when it is not valid (``is_valid()`` says so):
    the caller decides whether to refuse it or keep it as given.
    """
    if value in (None, ""):
        return None
    raw = value.raw_input if isinstance(value, PhoneNumber) and not value.is_valid() \
        else str(value)
    if isinstance(value, PhoneNumber) and value.is_valid():
        return value
    try:
        return PhoneNumber.from_string(raw, region=country)
    except phonenumbers.NumberParseException:
        return PhoneNumber(raw_input=raw)


def phone_is_textable(number: PhoneNumber) -> bool:
    return number.is_valid() and phonenumbers.number_type(number) in TEXTABLE


def phone_normalise(patient: Any) -> None:
    """The patient's number read in their clinic's country; one that is none is refused."""
    if patient.phone and patient.clinic_id is not None:
        patient.phone = phone_read(patient.phone, country=patient.clinic.country)
        if not patient.phone.is_valid():
            raise ValidationError({"phone": INVALID})


def clinic_phone_normalise(clinic: Any) -> None:
    if clinic.on_call_phone:
        clinic.on_call_phone = phone_read(clinic.on_call_phone, country=clinic.country)
        if not clinic.on_call_phone.is_valid():
            raise ValidationError({"on_call_phone": INVALID})


def phone_check_for_contact(patient: Any) -> None:
    """Texts need a number that can take them: refused, naming ``phone``, otherwise."""
    if "sms" not in patient.contact_by:
        return
    if not patient.phone:
        raise ValidationError({"phone": "A mobile number is needed to send text messages."})
    if not patient.phone.is_valid():
        return  # refused as no number at all (phone_normalise)
    if not phone_is_textable(patient.phone):
        raise ValidationError({"phone": "This number cannot receive text messages (a "
                                        "landline): give a mobile number, or choose email."})


def on_call_phone_check(clinic: Any) -> None:
    if (clinic.on_call_phone and clinic.on_call_phone.is_valid()
            and not phone_is_textable(clinic.on_call_phone)):
        raise ValidationError({"on_call_phone": "The on-call phone must be a mobile number "
                                                "that can receive text messages."})
