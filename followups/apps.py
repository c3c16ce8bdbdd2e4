from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = "Follow-ups"

    def import_models(self) -> None:
        super().import_models()
        # Models kept with their concern's folder, registered with this app.
        from followups.records import models as _records  # noqa: F401
        from followups.webhooks import models as _webhooks  # noqa: F401

    def ready(self) -> None:
        from followups.delivery.channels import channels_connect
        from followups.services import delivery_provider_event

        # Each channel's provider events (an email provider's bounces) move its
        # deliveries and check-ins on through the one service that does it.
        channels_connect(report=delivery_provider_event)
