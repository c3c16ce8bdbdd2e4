from django.urls import path

from followups.consent import views

app_name = "consent"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
]
