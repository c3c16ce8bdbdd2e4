"""Answers taken by phone, entered in the admin: the patient's own questions, the API's service.

The nurse reads the patient's questions out (the same form, built from the
symptom catalogue, without the photo) and the answers go through
``followups.services.response_record`` with the staff channel, exactly as
``POST /api/checkins/{id}/response/`` does: the same validation, the same
assessment, the same escalation, the same audit entry.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from followups.link.forms import CheckInForm
from followups.models import CheckIn, CheckInResponse
from followups.services import CheckInClosed, response_record

# What a staff member may still answer for (response_record's own rule for the staff channel).
ANSWERABLE_BY_STAFF = (CheckIn.Status.SCHEDULED, CheckIn.Status.SENT, CheckIn.Status.MISSED)


class PhoneAnswersForm(CheckInForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["photo"]  # a photo cannot be taken over the phone

    # The last section without the photo.
    LAST_SECTION = (CheckInForm.LAST_SECTION[0], "", ("comments",))  # type: ignore[assignment]


def phone_answers_record(*, form: PhoneAnswersForm, checkin: CheckIn,
                         actor) -> CheckInResponse | None:
    """Store the answers, or put what is wrong on the form (None); nothing is half-written."""
    if not form.is_valid():
        return None
    try:
        return response_record(checkin=checkin, answers=form.answers(),
                               channel=CheckInResponse.Channel.STAFF, entered_by=actor)
    except CheckInClosed:
        checkin.refresh_from_db()
        form.add_error(None, f"This check-in is {checkin.get_status_display().lower()}: "
                             "it cannot take answers.")
    except ValidationError as error:
        if hasattr(error, "error_dict"):
            for field, messages in error.message_dict.items():
                form.add_error(field if field in form.fields else None, messages)
        else:
            form.add_error(None, error.messages)
    return None
