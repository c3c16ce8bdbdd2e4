"""The on-call person, for an urgent alert the clinic's alert address refused for good.

When the clinic's alert address refuses an urgent alert permanently (a 550:
the mailbox is gone), the alert goes at once to every staff member by email
(``followups.escalations.services``) and here, to whoever is on call by text.
The text channel joins here: until it does, nobody is texted and the email
to every staff member, with the dashboard's red figure, is what remains.
"""

from __future__ import annotations

from followups.models import Escalation


def escalation_oncall_notify(*, escalation: Escalation) -> bool:
    """Text the on-call person about ``escalation`` (no health data); whether one went.

    Called once per escalation whose alert address refused it, inside its
    claim; a text channel sends here and returns True.
    """
    return False
