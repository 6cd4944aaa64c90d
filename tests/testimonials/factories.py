import factory

from testimonials.models import Testimonial


class TestimonialFactory(factory.django.DjangoModelFactory):
    __test__ = False  # a factory, although its name starts with "Test"

    quote = factory.Sequence(lambda n: f"A calm process made our week {n} fairer.")
    person_name = factory.Sequence(lambda n: f"Person {n}")
    role = "Organiser"
    organisation = "A community"
    live = True

    class Meta:
        model = Testimonial
        skip_postgeneration_save = True

    @factory.post_generation
    def tags(self, create, extracted, **kwargs):
        if create and extracted:
            self.tags.set(extracted)
            self.save()  # ClusterTaggableManager writes tags on save
