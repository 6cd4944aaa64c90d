"""The demo: the request page under Group training, its button, a chart to see."""

from django.utils import timezone

from home.models import ContentPage
from inquiries.models import ContactPage, GroupTrainingRequestPage
from inquiries.selectors import open_request_demand


def test_the_demo_has_the_request_page_contact_page_and_requests(demo_content):
    group_training = ContentPage.objects.get(slug="group-training")
    request_page = GroupTrainingRequestPage.objects.get()
    assert request_page.get_parent().pk == group_training.pk
    buttons = [b.value for b in group_training.body if b.block_type == "call_to_action"]
    assert [button["page"].pk for button in buttons] == [request_page.pk]
    assert not any(
        (button.get("url") or "").startswith("mailto:") for button in buttons
    )
    assert ContactPage.objects.get().get_parent().pk == demo_content.pk
    demand = open_request_demand(today=timezone.localdate())
    assert demand.open_requests >= 3
    assert any(bar.count for bar in demand.months)
    assert demand.time_zones
