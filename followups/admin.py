from django.contrib import admin

from followups.models import CheckIn, Escalation

admin.site.register(CheckIn)
admin.site.register(Escalation)
