"""The blocks of a newsletter issue: the site's own, each with an email template."""

from wagtail import blocks

from home.blocks import (
    RICH_TEXT_FEATURES,
    CallToActionBlock,
    CaptionedImageBlock,
    ChosenTestimonialsBlock,
    HeadingBlock,
    QuoteBlock,
    UpcomingSessionsBlock,
)


class IssueStreamBlock(blocks.StreamBlock):
    """What an issue is made of; every block also renders for email clients."""

    heading = HeadingBlock()
    paragraph = blocks.RichTextBlock(
        features=RICH_TEXT_FEATURES,
        icon="pilcrow",
        template="home/blocks/paragraph.html",
        preview_value=(
            "<p>When a report arrives mid-event, the first hour decides whether "
            "the person who spoke up feels heard.</p>"
        ),
        description="Formatted text",
    )
    image = CaptionedImageBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    testimonials = ChosenTestimonialsBlock()
    upcoming_sessions = UpcomingSessionsBlock()

    # Email templates live beside the web ones, one per block type, in
    # newsletter/templates/newsletter/email/blocks/<type>.html and .txt.
    EMAIL_TYPES = (
        "heading",
        "paragraph",
        "image",
        "quote",
        "call_to_action",
        "testimonials",
        "upcoming_sessions",
    )
