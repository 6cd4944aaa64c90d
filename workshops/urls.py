from django.urls import path

from . import views
from .views import waitlist as waitlist_views

app_name = "workshops"

urlpatterns = [
    path("calendar/workshops.ics", views.calendar_feed, name="calendar_feed"),
    path(
        "calendar/sessions/<int:pk>.ics",
        views.session_calendar,
        name="session_calendar",
    ),
    path("book/<int:session_pk>/", views.book, name="book"),
    path("orders/<str:token>/", views.order_detail, name="order"),
    path(
        "orders/<str:token>/cancelled/",
        views.order_cancelled,
        name="order_cancelled",
    ),
    path(
        "orders/<str:token>/demo-payment/", views.order_demo_pay, name="order_demo_pay"
    ),
    path("tickets/<str:token>/", views.ticket_detail, name="ticket"),
    path(
        "tickets/<str:token>/date/",
        views.ticket_change_date,
        name="ticket_change_date",
    ),
    path(
        "tickets/<str:token>/calendar.ics",
        views.ticket_calendar,
        name="ticket_calendar",
    ),
    path(
        "tickets/<str:token>/certificate/",
        views.ticket_certificate_request,
        name="ticket_certificate_request",
    ),
    path(
        "tickets/<str:token>/certificate.pdf",
        views.ticket_certificate_pdf,
        name="ticket_certificate_pdf",
    ),
    path("codes/<str:token>/", views.seat_code_detail, name="seat_code"),
    path("certificates/", views.certificate_lookup, name="certificate_lookup"),
    path("certificates/<str:code>/", views.certificate_verify, name="certificate"),
    path("stripe/webhook/", views.stripe_webhook, name="stripe_webhook"),
    path(
        "waiting-list/<int:session_pk>/",
        waitlist_views.waitlist_join,
        name="waitlist_join",
    ),
    path(
        "waiting-list/place/<str:token>/",
        waitlist_views.waitlist_entry,
        name="waitlist_entry",
    ),
]
