"""The staff desk's screens, registered with the admin (Django reads each app's ``admin``).

Every model's admin lives in ``followups/desk/``: the follow-ups' own
(check-ins, answers, the queue, clusters, the audit trail) and the patients
app's (clinics, staff, patients, products, sessions), whose pages show the
follow-ups beside them.
"""

from followups.desk import admin, calls_instead, clinics, patients  # noqa: F401
from followups.webhooks import admin as webhooks_admin  # noqa: F401,E402  (webhooks and their log)
