from django.contrib import admin

from patients.models import Clinic, Patient, Product, TreatmentSession

admin.site.register(Clinic)
admin.site.register(Patient)
admin.site.register(Product)
admin.site.register(TreatmentSession)
