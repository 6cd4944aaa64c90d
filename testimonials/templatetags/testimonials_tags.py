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


@register.inclusion_tag("testimonials/testimonial_list.html")
def testimonial_list(testimonials, heading: str = ""):
    """Chosen testimonials, in the editor's order, leaving out withdrawn ones."""
    return {
        "testimonials": [t for t in testimonials if t is not None and t.live],
        "heading": heading,
    }
