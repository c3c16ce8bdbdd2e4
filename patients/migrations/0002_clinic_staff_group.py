"""The "Clinic staff" group: what a clinic's nurse or practitioner may do in the admin.

View, add and change patients, sessions and the products applied; view the
product catalogue (changed by superusers and catalogue managers only) and
clinics; view and change (through the admin's actions: resend, acknowledge,
resolve, close) check-ins, escalations and cluster
signals; view answers. No delete permission of any kind, nothing on users,
groups or the audit trail: clinics and users are managed by superusers, and
the audit trail is read by superusers only. ``patients.services.staff_create``
puts new staff in this group.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP_NAME = "Clinic staff"

PERMISSIONS = {
    "patients": {
        "patient": ("view", "add", "change"),
        "treatmentsession": ("view", "add", "change"),
        "productapplication": ("view", "add", "change"),
        # The shared catalogue is read by clinic staff; catalogue managers change
        # it (0006_session_ingredients_catalogue re-syncs existing groups).
        "product": ("view",),
        "clinic": ("view",),
    },
    "followups": {
        "checkin": ("view", "change"),
        "checkinresponse": ("view",),
        "escalation": ("view", "change"),
        "clustersignal": ("view", "change"),
    },
}


def _ensure_permissions(apps, using):
    """Permissions are normally created after ``migrate``; this group needs them now."""
    for label in PERMISSIONS:
        app_config = apps.get_app_config(label)
        # create_permissions skips an app without a models module, which is
        # what the migration state's app configs look like.
        had_models_module = getattr(app_config, "models_module", None)
        if not had_models_module:
            app_config.models_module = True
        try:
            create_permissions(app_config, apps=apps, verbosity=0, using=using)
        finally:
            app_config.models_module = had_models_module


def clinic_staff_group_sync(apps, schema_editor=None):
    """Create the group, or reset its permissions to exactly the list above."""
    using = schema_editor.connection.alias if schema_editor is not None else "default"
    _ensure_permissions(apps, using)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    codenames = {
        (label, f"{action}_{model}")
        for label, models in PERMISSIONS.items()
        for model, actions in models.items()
        for action in actions
    }
    permissions = [
        permission
        for permission in Permission.objects.using(using).select_related("content_type")
        .filter(content_type__app_label__in=PERMISSIONS)
        if (permission.content_type.app_label, permission.codename) in codenames
    ]
    missing = codenames - {(p.content_type.app_label, p.codename) for p in permissions}
    if missing:
        raise RuntimeError(f"permissions not found: {sorted(missing)}")
    group, _ = Group.objects.using(using).get_or_create(name=GROUP_NAME)
    group.permissions.set(permissions)
    return group


def clinic_staff_group_remove(apps, schema_editor):
    apps.get_model("auth", "Group").objects.using(schema_editor.connection.alias).filter(
        name=GROUP_NAME
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("patients", "0001_initial"),
        ("followups", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(clinic_staff_group_sync, clinic_staff_group_remove),
    ]
