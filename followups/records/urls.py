from django.urls import path

from followups.records.views import MetadataView, ReadView, SearchView

urlpatterns = [
    path("metadata", MetadataView.as_view(), name="fhir-metadata"),
    path("<str:kind>", SearchView.as_view(), name="fhir-search"),
    path("<str:kind>/<str:pk>", ReadView.as_view(), name="fhir-read"),
]
