"""The admin site staff work in: its home page is the clinic's dashboard."""

from django.contrib import admin


class ClinicAdminSite(admin.AdminSite):
    site_header = "Aftercare desk"
    site_title = "Aftercare desk"
    index_title = "Today at your clinic"
