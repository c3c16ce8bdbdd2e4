"""Recording an event for a clinic's webhooks, inside the caller's transaction.

One call in the service that changed the state (an escalation raised,
acknowledged or resolved; answers stored) writes one pending delivery per
webhook that wants the event, in the same transaction: the event exists
exactly when the change does. A worker sends them once the transaction
commits (``followups.webhooks.delivery``).

Payloads carry ids, levels, codes and FHIR references only: never a name, a
contact detail or the patient's own words.
"""

from __future__ import annotations

import logging
import uuid

from celery import current_app
from django.db import transaction

from followups.delivery import clock
from followups.models import CheckInResponse, Escalation
from followups.webhooks.models import Event, Webhook, WebhookDelivery

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"


def deliveries_enqueue() -> None:
    """Ask a worker to send due deliveries now; if the broker is away the minute's beat will."""
    try:
        current_app.send_task(DELIVER_TASK, retry=False)
    except Exception as error:  # the broker being down must never fail a request
        logger.warning("could not enqueue webhook deliveries (%s); the beat will",
                       type(error).__name__)


def event_record(*, event: str, clinic_id: int, data: dict) -> int:
    """A pending delivery of ``event`` for each active webhook of the clinic that wants it."""
    hooks = [hook for hook in Webhook.objects.filter(clinic_id=clinic_id, active=True)
             if event in hook.events]
    if not hooks:
        return 0
    now = clock.database_now()
    payload = {"id": "", "event": event, "at": now.isoformat(), "data": data}
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(webhook=hook, event=event, created_at=now, next_action_at=now,
                        payload={**payload, "id": str(uuid.uuid4())})
        for hook in hooks
    ])
    transaction.on_commit(deliveries_enqueue)
    return len(hooks)


def _codes(reasons: list) -> list[str]:
    return [str(reason.get("code")) for reason in reasons
            if isinstance(reason, dict) and reason.get("code")]


def escalation_event(*, escalation: Escalation, event: str) -> int:
    data = {
        "escalation": escalation.pk, "patient": escalation.patient_id,
        "session": escalation.session_id, "checkin": escalation.checkin_id,
        "level": escalation.level, "status": escalation.status,
        "trigger": escalation.trigger, "codes": _codes(escalation.reasons),
        "fhir": {"flag": f"Flag/{escalation.pk}", "patient": f"Patient/{escalation.patient_id}",
                 "procedure": f"Procedure/{escalation.session_id}",
                 **({"questionnaire_response": f"QuestionnaireResponse/{escalation.response_id}"}
                    if escalation.response_id else {})},
    }
    return event_record(event=event, clinic_id=escalation.patient.clinic_id, data=data)


def checkin_answered(*, response: CheckInResponse) -> int:
    session = response.checkin.session
    data = {
        "checkin": response.checkin_id, "response": response.pk,
        "patient": session.patient_id, "session": session.pk, "day": response.checkin.day,
        "level": response.assessment_level, "codes": _codes(response.assessment_reasons),
        "fhir": {"questionnaire_response": f"QuestionnaireResponse/{response.pk}",
                 "patient": f"Patient/{session.patient_id}",
                 "procedure": f"Procedure/{session.pk}"},
    }
    return event_record(event=Event.CHECKIN_ANSWERED, clinic_id=session.patient.clinic_id,
                        data=data)


def escalation_raised(escalation: Escalation) -> int:
    return escalation_event(escalation=escalation, event=Event.ESCALATION_RAISED)


def escalation_acknowledged(escalation: Escalation) -> int:
    return escalation_event(escalation=escalation, event=Event.ESCALATION_ACKNOWLEDGED)


def escalation_resolved(escalation: Escalation) -> int:
    return escalation_event(escalation=escalation, event=Event.ESCALATION_RESOLVED)
