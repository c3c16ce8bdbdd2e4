"""Existing phone numbers read as numbers, in their clinic's country, and stored E.164.

Each clinic's country is first taken from its time zone where that names
one of the countries offered (a clinic in Europe/Paris is in France); the
rest keep the default, the United Kingdom, which an operator can change.

Batched by id; a number that cannot be read stays as it was (the patient's
page flags it for staff to correct) and is listed here by patient id, never
failing the migration.
"""

from django.db import migrations

BATCH = 500

COUNTRY_OF_ZONE = {
    "Europe/Dublin": "IE", "Europe/Paris": "FR", "Europe/Brussels": "BE",
    "Europe/Zurich": "CH", "Europe/Luxembourg": "LU", "Europe/Madrid": "ES",
    "Atlantic/Canary": "ES", "Europe/Lisbon": "PT", "Europe/Rome": "IT",
    "Europe/Berlin": "DE", "Europe/Amsterdam": "NL", "America/New_York": "US",
    "America/Chicago": "US", "America/Denver": "US", "America/Phoenix": "US",
    "America/Los_Angeles": "US", "America/Toronto": "CA", "America/Vancouver": "CA",
    "America/Montreal": "CA", "America/Mexico_City": "MX",
    "America/Argentina/Buenos_Aires": "AR", "America/Bogota": "CO",
    "Australia/Sydney": "AU", "Australia/Melbourne": "AU", "Australia/Brisbane": "AU",
    "Australia/Perth": "AU", "Pacific/Auckland": "NZ",
}


def clinics_country_from_zone(apps, schema_editor):
    Clinic = apps.get_model("patients", "Clinic")
    for zone, country in COUNTRY_OF_ZONE.items():
        Clinic.objects.filter(timezone=zone, country="GB").update(country=country)


def phones_to_e164(apps, schema_editor):
    import phonenumbers

    Patient = apps.get_model("patients", "Patient")
    unreadable: list[int] = []
    last_id = 0
    while True:
        rows = list(Patient.objects.filter(id__gt=last_id).exclude(phone="")
                    .order_by("id").values_list("id", "phone", "clinic__country")[:BATCH])
        if not rows:
            break
        last_id = rows[-1][0]
        for patient_id, raw, country in rows:
            raw = str(raw)
            try:
                number = phonenumbers.parse(raw, country or "GB")
            except phonenumbers.NumberParseException:
                number = None
            if number is None or not phonenumbers.is_valid_number(number):
                unreadable.append(patient_id)
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            if e164 != raw:
                Patient.objects.filter(id=patient_id).update(phone=e164)
    if unreadable:
        print(f"\n  {len(unreadable)} phone number(s) could not be read and were kept as "
              f"given, flagged for staff: patient id(s) {', '.join(map(str, unreadable))}")


class Migration(migrations.Migration):
    # Each batch commits on its own: no long transaction over the patients.
    atomic = False

    dependencies = [("patients", "0012_phone_numbers_contact_channels_on_call")]

    operations = [
        migrations.RunPython(clinics_country_from_zone, migrations.RunPython.noop,
                             elidable=True),
        migrations.RunPython(phones_to_e164, migrations.RunPython.noop, elidable=True),
    ]
