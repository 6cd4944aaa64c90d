"""Panels the newsletter adds to the Wagtail dashboard."""

from laces.components import Component

from . import selectors


class SubscriberGrowthPanel(Component):
    """The dashboard panel: confirmed subscribers per list, month by month."""

    name = "newsletter_growth"
    template_name = "newsletter/admin/growth_panel.html"
    order = 150

    def get_context_data(self, parent_context=None):
        growth = selectors.confirmed_growth(months=6)
        months = [start for start, _ in growth[0].points] if growth else []
        return {"growth": growth, "months": months}
