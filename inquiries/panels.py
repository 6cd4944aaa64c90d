"""The at-a-glance chart: months and time zones open requests ask for."""

from django.utils import timezone
from laces.components import Component

from .selectors import open_request_demand


class RequestDemandPanel(Component):
    """On the dashboard and above the request list: where demand lies."""

    name = "inquiries_demand"
    order = 130
    template_name = "inquiries/admin/demand_panel.html"

    def get_context_data(self, parent_context=None):
        return {"demand": open_request_demand(today=timezone.localdate())}
