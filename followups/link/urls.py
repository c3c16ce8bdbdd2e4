from django.urls import path

from followups.link import views

app_name = "followups"

urlpatterns = [
    path("c/<str:token>/", views.checkin_view, name="checkin"),
    path("favicon.ico", views.favicon_view, name="favicon"),
]
