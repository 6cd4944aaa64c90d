import factory
import wagtail_factories

from inquiries.models import ContactPage, GroupTrainingRequestPage


class GroupTrainingRequestPageFactory(wagtail_factories.PageFactory):
    title = "Ask for a private workshop"
    slug = factory.Sequence(lambda n: f"request-{n}")
    organisation_help_text = "A conference, a company, a project."

    class Meta:
        model = GroupTrainingRequestPage


class ContactPageFactory(wagtail_factories.PageFactory):
    title = "Contact us"
    slug = factory.Sequence(lambda n: f"contact-{n}")
    message_help_text = "What would you like to ask?"

    class Meta:
        model = ContactPage
