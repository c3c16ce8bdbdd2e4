from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from core.commands import command_error
from patients.services import clinic_create


class Command(BaseCommand):
    help = "Add a clinic: its IANA time zone, phone, urgent-alert email and check-in send hour."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--timezone", required=True, help="IANA time zone, e.g. Europe/London")
        parser.add_argument("--phone", default="")
        parser.add_argument("--email", default="", help="receives urgent alerts")
        parser.add_argument("--send-hour", type=int, default=10,
                            help="local hour (0-23) check-in emails go out (default 10)")

    def handle(self, *args, name, timezone, phone, email, send_hour, **options):
        try:
            clinic = clinic_create(name=name, timezone_name=timezone, phone=phone, email=email,
                                   send_hour=send_hour)
        except ValidationError as error:
            raise command_error(error) from None
        self.stdout.write(self.style.SUCCESS(
            f"Created clinic '{clinic.name}' (id {clinic.pk}, {clinic.timezone}, "
            f"check-ins at {clinic.send_hour:02d}:00)"
        ))
