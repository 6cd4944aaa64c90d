"""Testimonials: what past participants said, placed on pages by editors."""

from django.db import models
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.search import index
from wagtail.search.queryset import SearchableQuerySetMixin


class TaggedTestimonial(TaggedItemBase):
    content_object = ParentalKey(
        "testimonials.Testimonial",
        on_delete=models.CASCADE,
        related_name="tagged_items",
    )


class TestimonialQuerySet(SearchableQuerySetMixin, models.QuerySet):
    def live(self):
        return self.filter(live=True)

    def tagged(self, tag: str):
        return self.filter(tags__name__iexact=tag)


class TestimonialManager(models.Manager.from_queryset(TestimonialQuerySet)):
    def get_queryset(self):
        # Every place that shows a testimonial shows its photo: fetch both at once,
        # so a page with sixty testimonials costs no more queries than one with three.
        return (
            super()
            .get_queryset()
            .select_related("photo")
            .prefetch_related("photo__renditions")
        )


class Testimonial(index.Indexed, ClusterableModel):
    """A quotation from a participant, with who said it."""

    quote = models.TextField(
        max_length=800,
        help_text="Their words, without quotation marks. Keep it to a few sentences.",
    )
    person_name = models.CharField(
        "person",
        max_length=120,
        help_text="As they agreed to be named: 'Priya S.' or a full name.",
    )
    role = models.CharField(
        max_length=120, blank=True, help_text="For example 'Conference chair'."
    )
    organisation = models.CharField(max_length=120, blank=True)
    photo = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Optional. A square portrait, shown small beside the quote.",
    )
    tags = ClusterTaggableManager(
        through=TaggedTestimonial,
        blank=True,
        help_text="Topics such as 'conferences' or 'open source'; blocks can show "
        "live testimonials by tag.",
    )
    live = models.BooleanField(
        default=True,
        help_text="Only live testimonials appear on the site. Untick to withdraw "
        "one without deleting it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TestimonialManager()

    panels = [
        FieldPanel("quote"),
        MultiFieldPanel(
            [
                FieldPanel("person_name"),
                FieldPanel("role"),
                FieldPanel("organisation"),
                FieldPanel("photo"),
            ],
            heading="Who said it",
        ),
        FieldPanel("tags"),
        FieldPanel("live"),
    ]
    search_fields = [
        index.SearchField("quote"),
        index.SearchField("person_name"),
        index.SearchField("organisation"),
        index.AutocompleteField("person_name"),
        index.FilterField("live"),
    ]

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.person_name}: {self.quote[:60]}"

    @property
    def attribution(self) -> str:
        """'Role, Organisation', or whichever of the two is known."""
        return ", ".join(part for part in (self.role, self.organisation) if part)
