import factory
import wagtail_factories
from wagtail.rich_text import RichText

from home.models import ContentPage, HomePage


class HomePageFactory(wagtail_factories.PageFactory):
    title = "Learn to respond"
    slug = factory.Sequence(lambda n: f"home-{n}")
    introduction = "Live workshops on Code of Conduct incident response."

    class Meta:
        model = HomePage


class ContentPageFactory(wagtail_factories.PageFactory):
    title = factory.Sequence(lambda n: f"Content page {n}")
    slug = factory.Sequence(lambda n: f"content-{n}")
    introduction = "A short summary."
    body = factory.LazyFunction(
        lambda: [("paragraph", RichText("<p>Some words for readers.</p>"))]
    )

    class Meta:
        model = ContentPage
