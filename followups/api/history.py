"""Edits of patients and sessions through the API, in the admin's own history.

Each create, change and cancel made through the API is written as Django's
admin LogEntry for the object, so a patient's or session's "History" page in
the admin lists API edits beside admin ones: who, when, which fields. Field
names only, never their values (they are health data, and the object holds them).
"""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType


def _label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name.replace("_", " ")


def api_history_record(*, actor, obj, action_flag: int, fields=()) -> LogEntry | None:
    if actor is None or not actor.is_authenticated:
        return None
    if action_flag == ADDITION:
        message = "Added through the API."
    elif action_flag == DELETION:
        message = "Cancelled through the API."
    else:
        labels = [_label(type(obj), name) for name in fields]
        if not labels:
            return None
        message = f"Changed {', '.join(labels)} through the API."
    return LogEntry.objects.create(
        user_id=actor.pk,
        content_type=ContentType.objects.get_for_model(obj, for_concrete_model=False),
        object_id=str(obj.pk), object_repr=str(obj)[:200],
        action_flag=CHANGE if action_flag == DELETION else action_flag,
        change_message=message,
    )


def changed_fields(*, before: dict, after_obj, names) -> list[str]:
    return [name for name in names if before.get(name) != getattr(after_obj, name, None)]
