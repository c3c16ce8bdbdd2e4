"""For a lost phone: forget a staff user's authenticator and recovery codes.

They sign in with their password at their next visit and are taken to enroll
a new authenticator before any other page (accounts.middleware). Their API
tokens and open sessions are ended too: whoever had the phone is out.
"""

from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from knox.models import AuthToken

from accounts.otp import otp_reset


class Command(BaseCommand):
    help = ("Reset a staff user's second factor (lost phone): they enroll again at their next "
            "sign-in. Ends their API tokens and browser sessions.")

    def add_arguments(self, parser):
        parser.add_argument("username")

    @transaction.atomic
    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named '{username}'.")
        removed = otp_reset(user=user)
        AuthToken.objects.filter(user=user).delete()
        ended = 0
        for session in Session.objects.all().iterator():
            if session.get_decoded().get("_auth_user_id") == str(user.pk):
                session.delete()
                ended += 1
        self.stdout.write(self.style.SUCCESS(
            f"Reset the second factor of '{username}' ({removed} device(s) removed, "
            f"{ended} session(s) ended). They set up a new authenticator at their next sign-in."
        ))
