"""The blocks of a newsletter issue: the site's own, each with an email template."""

from wagtail import blocks

from home.blocks import (
    CallToActionBlock,
    CaptionedImageBlock,
    ChosenTestimonialsBlock,
    HeadingBlock,
    QuoteBlock,
    UpcomingSessionsBlock,
    paragraph_block,
)


class IssueStreamBlock(blocks.StreamBlock):
    """What an issue is made of; every block also renders for email clients."""

    heading = HeadingBlock()
    paragraph = paragraph_block(
        preview="<p>When a report arrives mid-event, the first hour decides "
        "whether the person who spoke up feels heard.</p>"
    )
    image = CaptionedImageBlock()
    quote = QuoteBlock()
    call_to_action = CallToActionBlock()
    testimonials = ChosenTestimonialsBlock()
    upcoming_sessions = UpcomingSessionsBlock()

    # Each block type also has an email template pair, in
    # newsletter/templates/newsletter/email/blocks/<type>.html and .txt.
