"""The watch check-in (day 10), comments to read, the watch level, catalogue audit."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0005_delivery_provider_message_and_undelivered"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="checkin", name="checkin_day_2_or_7"),
        migrations.AddConstraint(
            model_name="checkin",
            constraint=models.CheckConstraint(
                condition=models.Q(("day__gte", 1), ("day__lte", 60)),
                name="checkin_day_in_follow_up",
            ),
        ),
        migrations.AddField(
            model_name="checkinresponse",
            name="comment_read_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="checkinresponse",
            name="comment_read_by",
            field=models.ForeignKey(blank=True, null=True,
                                    on_delete=models.deletion.PROTECT, related_name="+",
                                    to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name="checkinresponse",
            index=models.Index(
                condition=models.Q(models.Q(("comments", ""), _negated=True),
                                   ("comment_read_at__isnull", True)),
                fields=["submitted_at"], name="response_comment_to_read",
            ),
        ),
        migrations.RemoveConstraint(model_name="checkinresponse",
                                    name="response_assessment_level_valid"),
        migrations.AddConstraint(
            model_name="checkinresponse",
            constraint=models.CheckConstraint(
                condition=models.Q(("assessment_level__in", ["none", "watch", "review",
                                                             "urgent"])),
                name="response_assessment_level_valid",
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(choices=[
                ("view_answers", "Viewed answers"), ("view_photo", "Viewed photo"),
                ("acknowledge", "Acknowledged escalation"), ("resolve", "Resolved escalation"),
                ("resend", "Resent check-in email"),
                ("record_answers", "Recorded answers by phone"), ("export", "Exported CSV"),
                ("close_cluster", "Closed cluster signal"),
                ("read_comment", "Marked a comment read"),
                ("change_product", "Changed the product catalogue"),
            ], max_length=20),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="changes",
            field=models.JSONField(blank=True, default=dict),
        ),
    ]
