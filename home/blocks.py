"""StreamField blocks shared by every page type."""

from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageBlock
from wagtail.snippets.blocks import SnippetChooserBlock


class HeadingBlock(blocks.StructBlock):
    """A section heading; the level keeps the page outline correct."""

    text = blocks.CharBlock(max_length=120)
    level = blocks.ChoiceBlock(
        choices=[("h2", "Section (h2)"), ("h3", "Subsection (h3)")],
        default="h2",
        help_text="Use h3 only under an h2, so screen readers get a sound outline.",
    )

    class Meta:
        icon = "title"
        template = "home/blocks/heading.html"
        preview_value = {"text": "What you will practise", "level": "h2"}
        description = "A heading that starts a section of the page"


class CaptionedImageBlock(blocks.StructBlock):
    """An image (with its alt text) and an optional caption."""

    image = ImageBlock()
    caption = blocks.CharBlock(required=False, max_length=250)

    class Meta:
        icon = "image"
        template = "home/blocks/captioned_image.html"
        description = "An image with alternative text and an optional caption"


class QuoteBlock(blocks.StructBlock):
    """A pull quote with its source."""

    quote = blocks.TextBlock(max_length=600)
    attribution = blocks.CharBlock(required=False, max_length=120)

    class Meta:
        icon = "openquote"
        template = "home/blocks/quote.html"
        preview_value = {
            "quote": "A clear process turned our worst week into a fair one.",
            "attribution": "A community organiser",
        }
        description = "A short quotation set apart from the text"


class CallToActionBlock(blocks.StructBlock):
    """A button linking to a page or to an address elsewhere."""

    text = blocks.CharBlock(max_length=60, help_text="Say what happens: 'See dates'.")
    page = blocks.PageChooserBlock(required=False)
    url = blocks.URLBlock(required=False, help_text="Used when no page is chosen.")
    style = blocks.ChoiceBlock(
        choices=[("primary", "Primary"), ("secondary", "Secondary")],
        default="primary",
    )

    class Meta:
        icon = "link"
        template = "home/blocks/call_to_action.html"
        preview_value = {"text": "See upcoming dates", "url": "https://example.com/"}
        description = "A button that links to a page or another site"

    def clean(self, value):
        value = super().clean(value)
        if bool(value.get("page")) == bool(value.get("url")):
            raise StructBlockValidationError(
                block_errors={
                    "page": ValidationError("Choose a page or enter a URL, not both.")
                }
            )
        return value


class FAQItemBlock(blocks.StructBlock):
    """One question and its answer."""

    question = blocks.CharBlock(max_length=200)
    answer = blocks.RichTextBlock(features=["bold", "italic", "link", "ul", "ol"])

    class Meta:
        icon = "help"


class FAQBlock(blocks.StructBlock):
    """Questions and answers, shown as expandable details."""

    heading = blocks.CharBlock(default="Frequently asked questions", max_length=120)
    questions = blocks.ListBlock(FAQItemBlock())

    class Meta:
        icon = "help"
        template = "home/blocks/faq.html"
        description = "Questions and answers that readers can expand"


class ChosenTestimonialsBlock(blocks.StructBlock):
    """Testimonials the editor picks, in the editor's order."""

    heading = blocks.CharBlock(required=False, max_length=120)
    # A string reference: home imports no other app (docs/conventions.md).
    testimonials = blocks.ListBlock(SnippetChooserBlock("testimonials.Testimonial"))

    class Meta:
        icon = "openquote"
        template = "home/blocks/chosen_testimonials.html"
        description = "Testimonials you choose; withdrawn ones are left out"


class TestimonialsByTagBlock(blocks.StructBlock):
    """The newest live testimonials with a tag, so the block stays current."""

    heading = blocks.CharBlock(required=False, max_length=120)
    tag = blocks.CharBlock(
        required=False,
        max_length=100,
        help_text="Leave empty to show the newest live testimonials of any tag.",
    )
    count = blocks.IntegerBlock(min_value=1, max_value=12, default=3)

    class Meta:
        icon = "tag"
        template = "home/blocks/testimonials_by_tag.html"
        description = "The newest live testimonials, optionally with one tag"


class UpcomingSessionsBlock(blocks.StructBlock):
    """The next workshop dates, with times in the visitor's zone."""

    heading = blocks.CharBlock(default="Upcoming workshops", max_length=120)
    count = blocks.IntegerBlock(min_value=1, max_value=12, default=4)

    class Meta:
        icon = "date"
        template = "home/blocks/upcoming_sessions.html"
        description = "The next public workshop dates from the schedule"


class NewsletterSignupBlock(blocks.StructBlock):
    """The newsletter sign-up form, placed in a page's body."""

    heading = blocks.CharBlock(
        default="Get our newsletter by email",
        max_length=120,
        help_text="The lists, their descriptions and the consent text come from "
        "Newsletter and Settings in the admin.",
    )

    def get_context(self, value, parent_context=None):
        context = super().get_context(value, parent_context=parent_context)
        # Stored with each consent: the home page's form told from others.
        page = context.get("page")
        context["source"] = "home" if page is not None and page.depth == 2 else "page"
        return context

    class Meta:
        icon = "mail"
        template = "home/blocks/newsletter_signup.html"
        description = "The sign-up form for your public mailing lists"


RICH_TEXT_FEATURES = ["h2", "h3", "bold", "italic", "link", "document-link", "ol", "ul"]


def paragraph_block(*, preview: str) -> blocks.RichTextBlock:
    """Formatted text: one block for page bodies and newsletter issues alike."""
    return blocks.RichTextBlock(
        features=RICH_TEXT_FEATURES,
        icon="pilcrow",
        template="home/blocks/paragraph.html",
        preview_value=preview,
        description="Formatted text",
    )


class BaseStreamBlock(blocks.StreamBlock):
    """The blocks every page body offers."""

    heading = HeadingBlock()
    paragraph = paragraph_block(
        preview="<p>Incidents rarely arrive at a convenient time. A written "
        "process lets your team respond calmly and consistently.</p>"
    )
    image = CaptionedImageBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    faq = FAQBlock()
    testimonials = ChosenTestimonialsBlock()
    testimonials_by_tag = TestimonialsByTagBlock()
    upcoming_sessions = UpcomingSessionsBlock()
    newsletter_signup = NewsletterSignupBlock()


class SocialLinkBlock(blocks.StructBlock):
    """A link to one of the organisation's profiles elsewhere."""

    label = blocks.CharBlock(max_length=40, help_text="For example 'Mastodon'.")
    url = blocks.URLBlock()

    class Meta:
        icon = "link-external"
