"""The webhooks and their delivery log in the admin, for the staff of each clinic.

Staff of a clinic read its webhooks and every delivery (event, status,
attempts, the last error); its managers turn a webhook that was switched off
back on. Webhooks are made through /api/webhooks/, which shows the secret once;
no page here ever shows it.
"""

from __future__ import annotations

from django.contrib import admin, messages

from followups.webhooks.models import Webhook, WebhookDelivery
from followups.webhooks.services import webhook_enable
from patients.admin_scoping import ClinicScopedAdminMixin
from patients.selectors import user_clinic_ids, user_managed_clinic_ids


class ClinicReadOnlyAdmin(admin.ModelAdmin):
    """Readable by every member of a clinic; written only by the services."""

    def has_module_permission(self, request):
        return request.user.is_active and (request.user.is_superuser
                                           or bool(user_clinic_ids(request.user)))

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Webhook)
class WebhookAdmin(ClinicScopedAdminMixin, ClinicReadOnlyAdmin):
    clinic_lookup = "clinic"
    list_display = ("id", "clinic", "url", "events", "active", "disabled_at", "last_error")
    list_filter = ("active",)
    fields = ("clinic", "url", "events", "active", "disabled_at", "last_error", "created_at")
    readonly_fields = fields
    actions = ("turn_back_on",)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not user_managed_clinic_ids(request.user):
            actions.pop("turn_back_on", None)
        return actions

    @admin.action(description="Turn the selected webhooks back on")
    def turn_back_on(self, request, queryset):
        managed = user_managed_clinic_ids(request.user)
        count = 0
        for webhook in queryset.filter(clinic_id__in=managed, active=False):
            webhook_enable(webhook=webhook)
            count += 1
        messages.success(request, f"{count} webhook(s) turned back on.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ClinicScopedAdminMixin, ClinicReadOnlyAdmin):
    clinic_lookup = "webhook__clinic"
    list_display = ("id", "webhook", "event", "status", "attempts", "response_status",
                    "created_at", "delivered_at", "next_action_at", "last_error")
    list_filter = ("status", "event")
    list_select_related = ("webhook__clinic",)
    fields = ("webhook", "event", "status", "attempts", "response_status", "created_at",
              "delivered_at", "next_action_at", "last_error", "payload")
    readonly_fields = fields
