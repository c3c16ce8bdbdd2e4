from django.db import models


class Heartbeat(models.Model):
    """When something that must keep happening last happened, for the whole fleet to see.

    One row per name ("sweep"). It is kept in PostgreSQL, not in a process or
    the cache: every web server's readiness must see the same answer, whichever
    worker ran the sweep.
    """

    name = models.CharField(primary_key=True, max_length=40)
    at = models.DateTimeField()
    # For a process's clock ("clock <process>"): its clock minus the database's
    # when it last looked (health.clock).
    offset_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name = "heartbeat"

    def __str__(self) -> str:
        return f"{self.name} at {self.at.isoformat()}"
