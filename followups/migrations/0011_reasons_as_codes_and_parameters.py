"""Stored reasons become code, parameters and source; their message is written when read.

Escalations (``reasons``) and answers (``assessment_reasons``) stored each
reason as ``{code, message, source}``, the message in English. The rules now
return parameters instead (``followups.assessment.rules.Reason``) and staff
read a message written from them in their language
(``followups.escalations.messages``). This reads the parameters back out of
each English message the rules wrote until now; a reason is converted only
when its message, written again from what was read, is exactly the stored
one. Any other (a wording of an older release) keeps its stored English
message, which is what staff read for it from then on.

The English shapes are copied here, not imported, so that this migration
keeps doing what it did when the messages change. Going back writes each
converted reason's English message again.
"""

import re

from django.db import migrations

_AT = r"at the day-(?P<day>\d+) check-in"
_RATING = r"(?P<rating>none|mild|moderate|severe|very severe)"
_PREVIOUS = r"(?P<previous>none|mild|moderate|severe|very severe)"
_URGENT_WORDS = " (breathing, swallowing, throat or tongue: urgent)"
_SYMPTOMS = ("hives", "rash", "itching", "swelling", "breakouts")

# (code, pattern, fixed parameters): the message shapes of the rules, English.
_SHAPES = [
    ("FEVER", rf"Fever reported {_AT}", {}),
    ("PUS", rf"Pus or discharge reported {_AT}", {}),
    ("SEVERE_PAIN", rf"Pain rated {_RATING} {_AT}", {}),
    ("SEVERE_RASH", rf"Rash rated {_RATING} {_AT}", {}),
    ("SEVERE_SWELLING", rf"Swelling rated {_RATING} {_AT}", {}),
    ("SEVERE_SWELLING", rf"Hives with swelling rated {_RATING} {_AT}: possibly the start of a "
                        r"severe allergic reaction", {"with_hives": True}),
    ("COMMENT_CONCERN", rf"The patient's comment {_AT} mentions (?P<words>.+?)"
                        rf"(?P<emergency>{re.escape(_URGENT_WORDS)})?", {}),
    ("RASH_PERSISTS", rf"Rash still present \(rated {_RATING}\) {_AT}", {}),
    ("RASH_WORSENING", rf"Rash rated {_RATING} {_AT}, up from {_PREVIOUS} at the previous "
                       r"check-in(?P<said>, and reported as getting worse)?", {}),
    ("RASH_WORSENING", rf"Rash reported as getting worse \(rated {_RATING}\) {_AT}",
     {"previous_rating": None, "said_worse": True}),
    ("RASH_LINGERING", rf"Mild rash still present, not getting worse, {_AT}: checked again later",
     {"rating": "mild"}),
    ("BREAKOUTS_PERSIST", rf"Breakouts still present \(rated {_RATING}\) and not improving {_AT}",
     {}),
    ("BREAKOUTS_WORSENING", rf"Breakouts rated {_RATING} {_AT}, up from {_PREVIOUS} at the "
                            r"previous check-in(?P<said>, and reported as getting worse)?", {}),
    ("BREAKOUTS_WORSENING", rf"Breakouts reported as getting worse \(rated {_RATING}\) {_AT}",
     {"previous_rating": None, "said_worse": True}),
    ("BREAKOUTS_SEVERE", rf"Breakouts rated {_RATING} {_AT}", {}),
    ("BREAKOUTS_LINGERING", rf"Breakouts rated {_RATING}, not getting worse, {_AT}: checked again "
                            r"later", {}),
    ("SWELLING", rf"Swelling rated {_RATING} {_AT}", {}),
    ("SWELLING", rf"Swelling still present \(rated {_RATING}\) {_AT}", {"still_present": True}),
    ("SWELLING_LINGERING", rf"Mild swelling still present {_AT}: checked again later",
     {"rating": "mild"}),
    ("ALLERGY", rf"(?P<symptoms>[A-Za-z ,]+?) reported {_AT}(?:; the session used "
                r"(?P<ingredients>.+), which the patient is known to react to)?", {}),
    ("NO_RESPONSE", r"Day-(?P<day>\d+) check-in not answered (?P<hours>\d+(?:\.\d+)?) hours "
                    r"after it was sent, despite a reminder", {"cause": "unanswered"}),
    ("NO_RESPONSE", r"Could not reach the patient: the day-(?P<day>\d+) check-in email could not "
                    r"be delivered \((?P<why>.*)\)\. Phone them, and check their email address",
     {"cause": "undelivered"}),
]
_PATTERNS = [(code, re.compile(pattern, re.DOTALL), fixed) for code, pattern, fixed in _SHAPES]


def _value(words):
    return words.replace(" ", "_")


def _words(value):
    return value.replace("_", " ")


def _listed(items):
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _params(code, match, fixed):
    found = match.groupdict()
    params = {"day": int(found["day"])}
    if found.get("rating"):
        params["rating"] = _value(found["rating"])
    if code in ("RASH_WORSENING", "BREAKOUTS_WORSENING") and "previous" in found:
        params["previous_rating"] = _value(found["previous"])
        params["said_worse"] = bool(found["said"])
    if code == "COMMENT_CONCERN":
        params["words"] = re.findall(r'"([^"]*)"', found["words"])
        params["emergency"] = bool(found["emergency"])
    if code == "ALLERGY":
        params["symptoms"] = re.split(r", | and ", found["symptoms"].lower())
        if not set(params["symptoms"]) <= set(_SYMPTOMS):
            return None
        params["ingredients"] = (found["ingredients"].split(", ") if found["ingredients"]
                                 else [])
    if "hours" in found:
        hours = float(found["hours"])
        params["hours"] = int(hours) if hours.is_integer() else hours
    if "why" in found:
        params["why"] = found["why"]
    return {**params, **fixed}


def _english(code, params):
    """The message the rules wrote for these parameters (the shapes above)."""
    day, at = params["day"], f"at the day-{params['day']} check-in"
    rating = _words(params["rating"]) if "rating" in params else ""
    if code == "FEVER":
        return f"Fever reported {at}"
    if code == "PUS":
        return f"Pus or discharge reported {at}"
    if code == "SEVERE_PAIN":
        return f"Pain rated {rating} {at}"
    if code == "SEVERE_RASH":
        return f"Rash rated {rating} {at}"
    if code == "SEVERE_SWELLING":
        if params.get("with_hives"):
            return (f"Hives with swelling rated {rating} {at}: possibly the start of a severe "
                    "allergic reaction")
        return f"Swelling rated {rating} {at}"
    if code == "COMMENT_CONCERN":
        quoted = ", ".join(f'"{word}"' for word in params["words"])
        urgent = _URGENT_WORDS if params.get("emergency") else ""
        return f"The patient's comment {at} mentions {quoted}{urgent}"
    if code == "RASH_PERSISTS":
        return f"Rash still present (rated {rating}) {at}"
    if code in ("RASH_WORSENING", "BREAKOUTS_WORSENING"):
        symptom = "Rash" if code == "RASH_WORSENING" else "Breakouts"
        if params.get("previous_rating") is None:
            return f"{symptom} reported as getting worse (rated {rating}) {at}"
        message = (f"{symptom} rated {rating} {at}, up from "
                   f"{_words(params['previous_rating'])} at the previous check-in")
        return message + (", and reported as getting worse" if params.get("said_worse") else "")
    if code == "RASH_LINGERING":
        return f"Mild rash still present, not getting worse, {at}: checked again later"
    if code == "BREAKOUTS_PERSIST":
        return f"Breakouts still present (rated {rating}) and not improving {at}"
    if code == "BREAKOUTS_SEVERE":
        return f"Breakouts rated {rating} {at}"
    if code == "BREAKOUTS_LINGERING":
        return f"Breakouts rated {rating}, not getting worse, {at}: checked again later"
    if code == "SWELLING":
        if params.get("still_present"):
            return f"Swelling still present (rated {rating}) {at}"
        return f"Swelling rated {rating} {at}"
    if code == "SWELLING_LINGERING":
        return f"Mild swelling still present {at}: checked again later"
    if code == "ALLERGY":
        message = f"{_listed(params['symptoms']).capitalize()} reported {at}"
        if params.get("ingredients"):
            message += (f"; the session used {', '.join(params['ingredients'])}, which the "
                        "patient is known to react to")
        return message
    if code == "NO_RESPONSE" and params.get("cause") == "undelivered":
        return (f"Could not reach the patient: the day-{day} check-in email could not be "
                f"delivered ({params['why']}). Phone them, and check their email address")
    if code == "NO_RESPONSE":
        return (f"Day-{day} check-in not answered {params['hours']:g} hours after it was "
                "sent, despite a reminder")
    raise ValueError(code)


def reason_with_params(reason):
    """``reason`` as code, parameters and source, or unchanged when its message cannot be read."""
    if "params" in reason or not isinstance(reason.get("message"), str):
        return reason
    code, message = reason.get("code"), reason["message"]
    for shape_code, pattern, fixed in _PATTERNS:
        match = pattern.fullmatch(message) if shape_code == code else None
        params = _params(code, match, fixed) if match else None
        if params is not None and _english(code, params) == message:
            return {"code": code, "params": params, "source": reason.get("source", "")}
    return reason


def reason_with_message(reason):
    """``reason`` as ``{code, message, source}`` again."""
    if "params" not in reason:
        return reason
    return {"code": reason["code"], "message": _english(reason["code"], reason["params"]),
            "source": reason.get("source", "")}


def _convert(apps, change):
    for model_name, field in (("Escalation", "reasons"), ("CheckInResponse", "assessment_reasons")):
        model = apps.get_model("followups", model_name)
        changed = []
        for row in model.objects.exclude(**{field: []}).only("pk", field).iterator(
                chunk_size=2000):
            reasons = getattr(row, field) or []
            new = [change(reason) for reason in reasons]
            if new != reasons:
                setattr(row, field, new)
                changed.append(row)
            if len(changed) >= 1000:
                model.objects.bulk_update(changed, [field])
                changed = []
        model.objects.bulk_update(changed, [field])


def forwards(apps, schema_editor):
    _convert(apps, reason_with_params)


def backwards(apps, schema_editor):
    _convert(apps, reason_with_message)


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0010_remove_checkin_provider_message_id"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=True),
    ]
