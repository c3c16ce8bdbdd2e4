"""Calls to flagged patients, and who is calling: new columns are nullable (no table rewrite).

Flags are named as staff read them (options only, no SQL).

The escalation table's two new indexes are built concurrently in 0015.
"""

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('followups', '0013_records_erasures_and_webhooks'),
        ('patients', '0009_notes_length'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactAttempt',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('outcome', models.CharField(choices=[('reached', 'Reached'), ('no_answer', 'No answer'), ('voicemail', 'Left a voicemail'), ('wrong_number', 'Wrong number'), ('other', 'Other')], max_length=12)),
                ('note', models.TextField(blank=True, max_length=2000, validators=[django.core.validators.MaxLengthValidator(2000)])),
                ('at', models.DateTimeField()),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                # In the table's CREATE: a NOT NULL column added to an existing table is refused.
                ('by', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('escalation', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='contacts', to='followups.escalation')),
            ],
            options={
                'ordering': ['at', 'id'],
            },
        ),
        migrations.AddField(
            model_name='escalation',
            name='assigned_to',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='escalation',
            name='attempt_reminded_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='escalation',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('view_answers', 'Viewed answers'), ('view_photo', 'Viewed photo'), ('acknowledge', 'Acknowledged escalation'), ('resolve', 'Resolved escalation'), ('resend', 'Resent check-in email'), ('record_answers', 'Recorded answers by phone'), ('export', 'Exported CSV'), ('close_cluster', 'Closed cluster signal'), ('read_comment', 'Marked a comment read'), ('change_product', 'Changed the product catalogue'), ('export_record', "Exported a patient's whole record"), ('erase', "Erased a patient's identity"), ('contact', 'Recorded a call'), ('assign', 'Assigned an escalation')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='contactattempt',
            constraint=models.CheckConstraint(condition=models.Q(('outcome__in', ['reached', 'no_answer', 'voicemail', 'wrong_number', 'other'])), name='contact_outcome_valid'),
        ),
        migrations.AddConstraint(
            model_name='contactattempt',
            constraint=models.CheckConstraint(condition=models.Q(('next_attempt_at__isnull', True), ('next_attempt_at__gt', models.F('at')), _connector='OR'), name='contact_next_attempt_after_it'),
        ),
        migrations.AlterModelOptions(
            name='escalation',
            options={'ordering': ['-level_rank', 'created_at', 'id'], 'verbose_name': 'flag', 'verbose_name_plural': 'flagged patients'},
        ),
    ]
