from django.urls import path

from . import views

app_name = "workshops"

urlpatterns = [
    path("workshops.ics", views.calendar_feed, name="calendar_feed"),
    path("sessions/<int:pk>.ics", views.session_calendar, name="session_calendar"),
]
