import pytest
from freezegun import freeze_time

from tests.home.factories import ContentPageFactory
from tests.inquiries.factories import (
    ContactPageFactory,
    GroupTrainingRequestPageFactory,
)

# Months are offered from "today" on: every test here runs on one fixed day.
TODAY = "2026-05-15"


@pytest.fixture(autouse=True)
def _fixed_day():
    with freeze_time(TODAY):
        yield


@pytest.fixture
def request_page(home_page):
    group_training = ContentPageFactory(
        parent=home_page, title="Group training", slug="group-training"
    )
    return GroupTrainingRequestPageFactory(parent=group_training, slug="request")


@pytest.fixture
def contact_page(home_page):
    return ContactPageFactory(parent=home_page, slug="contact")


def valid_request(**changes) -> dict:
    data = {
        "organisation": "Gull Point Conference",
        "name": "Rae Lindqvist",
        "email": "rae@gullpoint.example",
        "months": ["2026-06", "2026-09"],
        "time_zones": ["Europe/Oslo", "America/Halifax"],
        "group_size": "18",
        "message": "Our safety team of eighteen, spread over two continents.",
        "website": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}
