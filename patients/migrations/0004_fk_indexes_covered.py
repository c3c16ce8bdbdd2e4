"""Drop foreign keys' own indexes that a composite index already starts with.

(product, lot_number) serves lookups by product; (patient, performed_at) by
patient; (clinic, last_name) a clinic's patients; (clinic, user) its members. Only the indexes go. Django's AlterField would
also drop and re-add each foreign key, which re-checks every row under a lock.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('patients', '0003_needle_depth_validator'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='productapplication',
                    name='product',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='applications', to='patients.product'),
                ),
                migrations.AlterField(
                    model_name='treatmentsession',
                    name='patient',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='sessions', to='patients.patient'),
                ),
                migrations.AlterField(
                    model_name='patient',
                    name='clinic',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='patients', to='patients.clinic'),
                ),
                migrations.AlterField(
                    model_name='clinicmembership',
                    name='clinic',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='patients.clinic'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "patients_productapplication_product_id_25212c7b"',
                    reverse_sql='CREATE INDEX "patients_productapplication_product_id_25212c7b" ON "patients_productapplication" ("product_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "patients_treatmentsession_patient_id_57fd56f7"',
                    reverse_sql='CREATE INDEX "patients_treatmentsession_patient_id_57fd56f7" ON "patients_treatmentsession" ("patient_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "patients_patient_clinic_id_3ba5a264"',
                    reverse_sql='CREATE INDEX "patients_patient_clinic_id_3ba5a264" ON "patients_patient" ("clinic_id")',
                ),
                migrations.RunSQL(
                    'DROP INDEX IF EXISTS "patients_clinicmembership_clinic_id_7c04e918"',
                    reverse_sql='CREATE INDEX "patients_clinicmembership_clinic_id_7c04e918" ON "patients_clinicmembership" ("clinic_id")',
                ),
            ],
        ),
    ]
