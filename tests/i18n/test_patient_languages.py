"""Patients read their emails and check-in pages in their own language.

English, French and Spanish (interface.md: the patient's ``language``); the
page says which in its ``lang`` attribute and its ``Content-Language`` header.
Every answer goes through the real form and the real sweep.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from followups.delivery.sweep import followups_sweep
from followups.models import CheckInResponse
from patients.services import patient_create
from tests.factories import ClinicFactory, PatientFactory, session_with_checkins
from tests.followups.link.test_patient_form import FORM_ANSWERS, LINK, link_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def generous_rate_limit(settings):
    settings.PATIENT_LINK_RATE_LIMIT = (100_000, 60)


def sent_to(patient) -> str:
    """The token of the day-2 email the real sweep sends ``patient``."""
    session_with_checkins(patient=patient, performed_at=timezone.now() - timedelta(days=3))
    followups_sweep()
    return LINK.search(mail.outbox[-1].body).group(1)


@pytest.fixture
def french(clinic):
    return PatientFactory(clinic=clinic, first_name="Léa", last_name="Dubois", language="fr")


@pytest.fixture
def spanish(clinic):
    return PatientFactory(clinic=clinic, first_name="Lucía", last_name="Fernández",
                          language="es")


def test_it_emails_a_french_patient_in_french_with_a_french_date(french):
    sent_to(french)

    email = mail.outbox[-1]
    assert email.subject == "Un questionnaire de suivi d’une minute de Riverside Skin Clinic"
    assert email.body.startswith("Bonjour Léa,")
    assert "Ce lien est personnel" in email.body
    # "Il fonctionne jusqu'au mardi 3 décembre à 10 h 00": day and month in French.
    assert re.search(r"jusqu’au (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) "
                     r"\d{1,2} [a-zéû]+ à \d{1,2} h \d\d\.", email.body)
    html = email.alternatives[0][0]
    assert '<html lang="fr">' in html
    assert "Commencer le questionnaire" in html
    assert email.extra_headers["Content-Language"] == "fr"


def test_it_emails_a_spanish_patient_in_spanish(spanish):
    sent_to(spanish)

    email = mail.outbox[-1]
    assert email.subject == "Un breve control de un minuto de Riverside Skin Clinic"
    assert email.body.startswith("Hola, Lucía:")
    assert re.search(r"Funciona hasta el [a-záéíóú]+ \d{1,2} de [a-z]+ a las \d\d:\d\d\.",
                     email.body)


def test_it_shows_the_form_in_the_patients_language(client, french):
    response = client.get(link_url(sent_to(french)))

    html = response.content.decode()
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr">' in html
    assert "<h1>Comment va votre peau aujourd’hui\u202f?</h1>" in html
    assert "Envoyer mes réponses" in html
    assert ">Aucune</span>" in html


def test_the_patient_switches_language_on_the_form_and_keeps_the_link(client, french):
    token = sent_to(french)

    form = client.get(link_url(token)).content.decode()
    assert '<a href="?lang=es" lang="es" hreflang="es">Español</a>' in form
    spanish_form = client.get(link_url(token) + "?lang=es")

    assert spanish_form["Content-Language"] == "es"
    assert "¿Cómo está hoy su piel?" in spanish_form.content.decode()
    # The form posts back to the page's own address: the same link, in Spanish.
    assert "<form method=\"post\"" in spanish_form.content.decode()
    done = client.post(link_url(token) + "?lang=es", FORM_ANSWERS)
    assert done["Content-Language"] == "es"
    assert "Gracias. Su piel parece estar curándose con normalidad" in done.content.decode()
    assert CheckInResponse.objects.count() == 1


def test_it_shows_a_spanish_patient_the_errors_in_spanish(client, spanish):
    token = sent_to(spanish)
    answers = {**FORM_ANSWERS, "breakouts": "moderate"}
    answers.pop("fever")

    html = client.post(link_url(token), answers).content.decode()

    assert "<title>Error: Control de su piel – Riverside Skin Clinic</title>" in html
    assert "Revise sus respuestas" in html
    assert "Elija sí o no para «Fiebre (sensación de calor, escalofríos o temperatura alta)»." \
        in html
    assert "Ha indicado que tiene brotes de acné o granos: elija si está mejorando" in html
    assert not CheckInResponse.objects.exists()


def test_it_shows_a_french_patient_urgent_guidance_in_french(client, french):
    token = sent_to(french)

    html = client.post(link_url(token), {**FORM_ANSWERS, "fever": "yes"}).content.decode()

    assert "<h1>Consultez un médecin sans attendre</h1>" in html
    assert "Nous avons informé votre clinique de vos réponses." in html
    assert "Appeler le +44 20 7946 0000" in html


def test_it_shows_a_french_patient_aftercare_in_french(client, french):
    token = sent_to(french)

    html = client.post(link_url(token), FORM_ANSWERS).content.decode()

    assert "Merci. Votre peau semble cicatriser normalement" in html
    assert "<li>Évitez le soleil direct.</li>" in html


def test_a_dead_link_is_in_the_browsers_language_never_the_patients(client, french):
    token = sent_to(french)
    client.post(link_url(token), FORM_ANSWERS)

    used = client.get(link_url(token), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    unknown = client.get(link_url("x" * 43), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    in_english = client.get(link_url(token))

    assert used.status_code == unknown.status_code == 404
    assert used.content == unknown.content
    assert used["Content-Language"] == "es"
    assert "Este enlace no está disponible" in used.content.decode()
    assert in_english["Content-Language"] == "en"
    assert "This link is not available" in in_english.content.decode()


def test_a_new_patient_gets_the_clinics_language_unless_one_is_chosen():
    clinic = ClinicFactory(name="Clinique du Parc", default_language="fr")
    data = {"clinic": clinic, "first_name": "Jean", "last_name": "Martin",
            "email": "jean@example.com"}

    assert patient_create(actor=None, data=data).language == "fr"
    assert patient_create(actor=None, data={**data, "language": "es"}).language == "es"


def test_the_api_reads_and_writes_a_patients_language(api, clinic):
    created = api.post("/api/patients/", {
        "clinic": clinic.pk, "first_name": "Ana", "last_name": "Ruiz",
        "email": "ana@example.com", "language": "es",
    }, format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["language"] == "es"
    refused = api.post("/api/patients/", {
        "clinic": clinic.pk, "first_name": "Ana", "last_name": "Ruiz",
        "email": "ana@example.com", "language": "de",
    }, format="json")
    assert refused.status_code == 400
    assert "language" in refused.json()


def test_the_result_pages_language_links_keep_the_urgent_advice(client, french):
    token = sent_to(french)

    done = client.post(link_url(token), {**FORM_ANSWERS, "fever": "yes"}).content.decode()
    again = client.get(link_url(token) + "?lang=es")

    # Each link is an anchor to the same advice in the page, never the used link.
    assert '<a href="#result-es" lang="es" hreflang="es">Español</a>' in done
    assert "?lang=" not in done
    sections = dict(re.findall(r'<section class="(result-lang(?: current)?)" '
                               r'id="result-(\w+)" lang="\w+">', done)[i][::-1]
                    for i in range(3))
    assert sections == {"fr": "result-lang current", "en": "result-lang", "es": "result-lang"}
    spanish = done.split('id="result-es"')[1].split("</section>")[0]
    english = done.split('id="result-en"')[1].split("</section>")[0]
    assert "fiebre" in spanish.lower() and "fever" in english.lower()
    assert again.status_code == 404  # the link itself is used: the page held the languages
