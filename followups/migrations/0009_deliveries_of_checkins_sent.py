"""A delivery record for every check-in email already sent, with the provider's id it kept.

Until now a check-in held the provider's id of the last message sent for it
(``provider_message_id``: the reminder's once one went, else the
invitation's). Each sent check-in gets its invitation's record, and its
reminder's when one went, of its current send generation, ``sent`` at the
times the check-in kept; the provider's id goes on the last of them, so a
bounce of a message sent before this migration still finds its check-in.
What the provider said later was never recorded: a check-in it failed
keeps the reason in its ``last_error``. One INSERT … SELECT each, on any
table size.
"""

from django.db import migrations

INVITATIONS = """
    INSERT INTO followups_delivery
        (checkin_id, channel, kind, send_generation, status, at, error, provider_message_id)
    SELECT id, 'email', 'invitation', send_generation, 'sent', sent_at, '',
           CASE WHEN reminder_sent_at IS NULL THEN provider_message_id ELSE '' END
    FROM followups_checkin
    WHERE sent_at IS NOT NULL
"""
REMINDERS = """
    INSERT INTO followups_delivery
        (checkin_id, channel, kind, send_generation, status, at, error, provider_message_id)
    SELECT id, 'email', 'reminder', send_generation, 'sent', reminder_sent_at, '',
           provider_message_id
    FROM followups_checkin
    WHERE sent_at IS NOT NULL AND reminder_sent_at IS NOT NULL
"""
# Backwards: the provider's id of each check-in's last message of its current
# send generation goes back on the check-in, and the records go.
PROVIDER_IDS_BACK = """
    UPDATE followups_checkin SET provider_message_id = (
        SELECT d.provider_message_id FROM followups_delivery d
        WHERE d.checkin_id = followups_checkin.id AND d.provider_message_id <> ''
          AND d.send_generation = followups_checkin.send_generation
        ORDER BY d.at DESC, d.id DESC LIMIT 1)
    WHERE id IN (SELECT d.checkin_id FROM followups_delivery d
                 WHERE d.provider_message_id <> ''
                   AND d.send_generation = followups_checkin.send_generation)
"""
RECORDS_DELETE = "DELETE FROM followups_delivery"


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0008_delivery"),
    ]

    operations = [
        migrations.RunSQL(sql=[INVITATIONS, REMINDERS],
                          reverse_sql=[PROVIDER_IDS_BACK, RECORDS_DELETE]),
    ]
