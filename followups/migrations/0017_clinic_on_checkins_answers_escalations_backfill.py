"""Fill the new ``clinic`` of the existing check-ins, answers and escalations, in batches.

Its own migration, outside any schema change, and not atomic: each batch of
ids commits alone, so no row stays locked for longer than one batch's
UPDATE and a run stopped half-way resumes where it was (only rows still
without a clinic are written). New rows get their clinic from the services
that create them.
"""

from django.db import migrations
from django.db.models import Max, OuterRef, Subquery

BATCH = 10_000


def _backfill(model, clinic_of):
    last = model.objects.aggregate(last=Max("pk"))["last"] or 0
    for start in range(0, last + 1, BATCH):
        (model.objects.filter(pk__gte=start, pk__lt=start + BATCH, clinic__isnull=True)
         .update(clinic_id=Subquery(clinic_of)))


def clinics_backfill(apps, schema_editor):
    CheckIn = apps.get_model("followups", "CheckIn")
    CheckInResponse = apps.get_model("followups", "CheckInResponse")
    Escalation = apps.get_model("followups", "Escalation")
    TreatmentSession = apps.get_model("patients", "TreatmentSession")
    Patient = apps.get_model("patients", "Patient")
    _backfill(CheckIn, TreatmentSession.objects.filter(pk=OuterRef("session_id"))
              .values("patient__clinic_id")[:1])
    _backfill(CheckInResponse, CheckIn.objects.filter(pk=OuterRef("checkin_id"))
              .values("session__patient__clinic_id")[:1])
    _backfill(Escalation, Patient.objects.filter(pk=OuterRef("patient_id"))
              .values("clinic_id")[:1])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("followups", "0016_clinic_on_checkins_answers_escalations"),
    ]

    operations = [
        migrations.RunPython(clinics_backfill, migrations.RunPython.noop, elidable=True),
    ]
