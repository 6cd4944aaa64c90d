"""Panels of the Wagtail admin's dashboard."""

from django.utils import timezone
from laces.components import Component

from .formatting import session_when
from .selectors import sessions_with_sales


class SeatsPanel(Component):
    """The dashboard's view of sales: sold and held seats per upcoming session."""

    name = "seats_sold"
    order = 120
    template_name = "workshops/admin/seats_panel.html"

    def get_context_data(self, parent_context=None):
        sessions = sessions_with_sales(now=timezone.now(), limit=20)
        return {
            "sessions": [
                {
                    "session": session,
                    "sold": session.sold,
                    "held": session.taken - session.sold,
                    "when": session_when(session),
                }
                for session in sessions
            ]
        }


class EndedSessionsPanel(Component):
    """Sessions just over, for recording attendance and issuing certificates."""

    name = "ended_sessions"
    order = 130
    template_name = "workshops/admin/ended_sessions_panel.html"

    def __init__(self, sessions):
        self.sessions = sessions

    def get_context_data(self, parent_context=None):
        return {
            "sessions": [
                {"session": session, "when": session_when(session)}
                for session in self.sessions
            ]
        }
