"""Sessions record each product's ingredients; the catalogue is its managers' to change.

``ProductApplication.ingredients`` holds what a product contained when the
session was saved. Existing rows are filled from the catalogue as it is now:
the best record there is of what they used. The "Clinic staff" group loses
the right to add and change products (``patients.manage_catalogue`` is the
catalogue managers' permission).
"""

import importlib

from django.db import migrations, models

import patients.models

staff_group = importlib.import_module("patients.migrations.0002_clinic_staff_group")


def ingredients_record(apps, schema_editor):
    ProductApplication = apps.get_model("patients", "ProductApplication")
    Product = apps.get_model("patients", "Product")
    using = schema_editor.connection.alias
    for product in Product.objects.using(using).only("id", "ingredients").iterator():
        ProductApplication.objects.using(using).filter(product_id=product.id).update(
            ingredients=list(product.ingredients or [])
        )


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0005_languages"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="product",
            options={
                "ordering": ["name"],
                "permissions": [
                    ("manage_catalogue", "Can change the shared product catalogue"),
                ],
            },
        ),
        migrations.AddField(
            model_name="productapplication",
            name="ingredients",
            field=models.JSONField(blank=True, default=list, editable=False,
                                   validators=[patients.models.validate_ingredient_list]),
        ),
        migrations.RunPython(ingredients_record, migrations.RunPython.noop),
        migrations.RunPython(staff_group.clinic_staff_group_sync, migrations.RunPython.noop),
    ]
