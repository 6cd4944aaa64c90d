import pytest
from bs4 import BeautifulSoup

from home.search import clean_query
from tests.home.factories import ContentPageFactory
from tests.workshops.factories import WorkshopSessionFactory

pytestmark = pytest.mark.django_db

NASTY_QUERIES = [
    '"',
    '""',
    "'",
    '"unterminated',
    "report*",
    "^report",
    "report NOT",
    "AND",
    "OR OR OR",
    "NEAR(report respond, 2)",
    "title:report",
    "{title body}: report",
    "-report",
    "(report",
    "report)",
    "report\x00null",
    "\x00",
    "😀 report",
    "résumé naïve",
    "%' OR 1=1 --",
    "a" * 5000,
    " ".join(["report"] * 1000),
    " ".join(f"word{n}" for n in range(1000)),
]


@pytest.fixture
def indexed(workshop, home_page, run_tasks):
    ContentPageFactory(parent=home_page, title="About reporting", slug="about")
    WorkshopSessionFactory(workshop=workshop, private_notes="Backupfacilitator Samira")
    run_tasks()  # the search index is updated by background tasks


@pytest.mark.parametrize("query", NASTY_QUERIES)
def test_any_query_gets_an_answer_not_an_error(client, indexed, query):
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200


def test_workshops_and_pages_are_found(client, indexed, workshop):
    doc = BeautifulSoup(
        client.get("/search/", {"q": "Responding"}).content, "html.parser"
    )
    titles = [a.get_text() for a in doc.select(".search-results h2 a")]
    # PostgreSQL stems words, so the home page ("Learn to respond") may match too.
    assert workshop.title in titles
    assert "About reporting" not in titles
    assert f"{len(titles)} result" in doc.get_text()


def test_private_session_notes_are_not_searchable(client, indexed):
    doc = BeautifulSoup(client.get("/search/", {"q": "Samira"}).content, "html.parser")
    assert not doc.select(".search-results li")


def test_queries_are_reduced_to_words():
    assert clean_query('"Report" OR ^respond*') == "report or respond"
    assert clean_query("a\x00b") == "a b"
    assert len(clean_query(" ".join(["w"] * 100)).split()) == 12
