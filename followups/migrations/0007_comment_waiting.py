"""A comment to read is marked when the answers are stored (comment_waiting)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0006_watch_comments_catalogue_audit"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="checkinresponse", name="response_comment_to_read"),
        migrations.AddField(
            model_name="checkinresponse",
            name="comment_waiting",
            field=models.BooleanField(default=False),
        ),
        migrations.AddIndex(
            model_name="checkinresponse",
            index=models.Index(condition=models.Q(("comment_waiting", True)),
                               fields=["submitted_at"], name="response_comment_waiting"),
        ),
    ]
