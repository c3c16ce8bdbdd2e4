import getpass
import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.otp import recovery_codes_issue, totp_config_url, totp_enroll, totp_text_key
from core.commands import command_error
from patients.models import Clinic
from patients.services import membership_manager_set, staff_create


class Command(BaseCommand):
    help = ("Add a staff user who belongs to a clinic. The password comes from the "
            "STAFF_PASSWORD environment variable, or a prompt, and must pass the password "
            "rules. With --otp, also enroll an authenticator app and print its otpauth:// URI.")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--clinic", required=True, help="the clinic's name")
        parser.add_argument("--email", default="")
        parser.add_argument("--superuser", action="store_true")
        parser.add_argument("--manager", action="store_true",
                            help="a manager of the clinic: may also erase its patients' "
                                 "records and manage its webhooks")
        parser.add_argument("--otp", action="store_true",
                            help="enroll an authenticator app now and print its otpauth:// URI "
                                 "(without it the user enrolls at their first sign-in)")

    def handle(self, *args, username, clinic, email, superuser, otp=False, manager=False,
               **options):
        try:
            clinic_obj = Clinic.objects.get(name=clinic)
        except Clinic.DoesNotExist:
            raise CommandError(
                f"No clinic named '{clinic}'. Create it with create_clinic."
            ) from None
        password = os.environ.get("STAFF_PASSWORD") or self._prompt()
        try:
            with transaction.atomic():
                user = staff_create(username=username, clinic=clinic_obj, password=password,
                                    email=email, superuser=superuser)
                if manager:
                    membership_manager_set(user=user, clinic=clinic_obj, manager=True)
                device = totp_enroll(user=user) if otp else None
                codes = recovery_codes_issue(user=user) if otp else []
        except ValidationError as error:
            raise command_error(error) from None
        role = "superuser" if superuser else "manager" if manager else "staff user"
        self.stdout.write(self.style.SUCCESS(
            f"Created {role} '{user.username}' in clinic '{clinic_obj.name}'"
        ))
        if device is not None:
            # The URI alone on its line, for a QR generator or a password manager.
            self.stdout.write("Authenticator (scan or paste into the app):")
            self.stdout.write(totp_config_url(device))
            self.stdout.write(f"Text key: {totp_text_key(device)}")
            self.stdout.write("Recovery codes (each signs in once, for a lost phone): "
                              + " ".join(codes))

    def _prompt(self) -> str:
        try:
            first = getpass.getpass("Password: ")
            second = getpass.getpass("Password (again): ")
        except (EOFError, KeyboardInterrupt):
            raise CommandError("No password: set STAFF_PASSWORD or run interactively.") from None
        if not first:
            raise CommandError("The password must not be empty.")
        if first != second:
            raise CommandError("The passwords did not match.")
        return first
