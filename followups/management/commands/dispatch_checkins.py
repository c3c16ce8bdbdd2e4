from django.core.management.base import BaseCommand

from followups.delivery.sweep import followups_sweep


class Command(BaseCommand):
    help = ("One sweep, synchronously, needing no broker: sends every due check-in email, "
            "reminder and urgent alert, and raises non-response flags.")

    def handle(self, *args, **options):
        report = followups_sweep()
        for key, value in report.as_dict().items():
            self.stdout.write(f"{key.replace('_', ' ')}: {value}")
        if report.errors:
            self.stderr.write(f"send errors (will be retried): {len(report.errors)}")
