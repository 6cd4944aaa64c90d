"""Blocks for workshop pages, beside the shared ones from home."""

from wagtail import blocks

from home.blocks import BaseStreamBlock


class LearningOutcomesBlock(blocks.StructBlock):
    """What participants can do afterwards, as a list."""

    heading = blocks.CharBlock(default="What you will learn", max_length=120)
    outcomes = blocks.ListBlock(
        blocks.CharBlock(max_length=200),
        help_text="Start each with a verb: 'Take a report without judging it'.",
    )

    class Meta:
        icon = "list-ul"
        template = "workshops/blocks/learning_outcomes.html"
        preview_value = {
            "heading": "What you will learn",
            "outcomes": ["Take a report calmly", "Decide what happens next"],
        }
        description = "A list of what participants can do afterwards"


class TopicBlock(blocks.StructBlock):
    title = blocks.CharBlock(max_length=120)
    description = blocks.TextBlock(required=False, max_length=600)


class TopicsBlock(blocks.StructBlock):
    """The parts of the workshop, each with a line or two."""

    heading = blocks.CharBlock(default="What we cover", max_length=120)
    topics = blocks.ListBlock(TopicBlock())

    class Meta:
        icon = "list-ol"
        template = "workshops/blocks/topics.html"
        description = "The parts of the workshop, in order"


class PracticeScenarioBlock(blocks.StructBlock):
    """An invented situation participants rehearse in small groups."""

    title = blocks.CharBlock(max_length=120)
    situation = blocks.TextBlock(
        max_length=1200, help_text="What happens. Invent every detail."
    )
    practice = blocks.TextBlock(
        required=False,
        max_length=600,
        help_text="What participants practise with it.",
    )

    class Meta:
        icon = "group"
        template = "workshops/blocks/practice_scenario.html"
        description = "A practice scenario for small groups"


class WorkshopStreamBlock(BaseStreamBlock):
    """Shared blocks plus outcomes, topics and scenarios."""

    learning_outcomes = LearningOutcomesBlock()
    topics = TopicsBlock()
    practice_scenario = PracticeScenarioBlock()
