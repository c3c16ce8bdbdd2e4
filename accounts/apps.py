from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Staff accounts"

    def ready(self):
        from accounts import schema, signals  # noqa: F401  (the schema's auth, token revocation)
