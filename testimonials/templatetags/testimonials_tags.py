from django import template

from testimonials.models import Testimonial

register = template.Library()


@register.inclusion_tag("testimonials/testimonial_list.html")
def live_testimonials(tag: str = "", count: int = 3, heading: str = ""):
    """A few live testimonials, the newest first, optionally only those tagged `tag`."""
    testimonials = Testimonial.objects.live()
    if tag:
        testimonials = testimonials.tagged(tag)
    return {"testimonials": list(testimonials[:count]), "heading": heading}


@register.simple_tag
def live_only(testimonials) -> list:
    """Chosen testimonials that are still live, in the editor's order."""
    return [item for item in testimonials if item is not None and item.live]


@register.inclusion_tag("testimonials/testimonial_list.html")
def testimonial_list(testimonials, heading: str = ""):
    """Chosen testimonials, in the editor's order, leaving out withdrawn ones."""
    return {"testimonials": live_only(testimonials), "heading": heading}
