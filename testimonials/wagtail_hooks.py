import django_filters
from django import forms
from wagtail.admin.filters import WagtailFilterSet
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from .models import TaggedTestimonial, Testimonial


class TestimonialFilterSet(WagtailFilterSet):
    live = django_filters.BooleanFilter(label="Live")
    tag = django_filters.MultipleChoiceFilter(
        label="Tag",
        field_name="tags__name",
        distinct=True,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Testimonial
        fields = ["live"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = (
            TaggedTestimonial.objects.order_by("tag__name")
            .values_list("tag__name", flat=True)
            .distinct()
        )
        self.filters["tag"].extra["choices"] = [(name, name) for name in names]


class TestimonialViewSet(SnippetViewSet):
    model = Testimonial
    icon = "openquote"
    menu_label = "Testimonials"
    menu_order = 300
    add_to_admin_menu = True
    list_display = ["person_name", "organisation", "quote", "live"]
    list_export = ["person_name", "role", "organisation", "quote", "live"]
    filterset_class = TestimonialFilterSet
    # Searches the model's index (search_fields on Testimonial). Naming fields here
    # would search them one by one, which SQLite's full-text backend cannot do
    # (wagtail/wagtail#10217).


register_snippet(TestimonialViewSet)
