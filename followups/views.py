"""The patient's check-in page, reached from the emailed link, no login."""

from django.http import HttpResponse


def checkin_view(request, token: str):
    return HttpResponse(status=404)
