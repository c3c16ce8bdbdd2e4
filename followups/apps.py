from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = "Follow-ups"

    def ready(self) -> None:
        from followups.delivery import bounces as signals  # noqa: F401  (connects the provider's tracking events)
