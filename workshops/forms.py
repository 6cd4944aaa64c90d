"""Admin forms for workshop pages."""

import calendar

from django import forms
from wagtail.admin.forms import WagtailAdminPageForm

MONTHS = [(number, calendar.month_name[number]) for number in range(1, 13)]


class YearsField(forms.Field):
    """Comma-separated years, such as '2027, 2028'."""

    def to_python(self, value):
        if isinstance(value, list):
            return value
        years = []
        for part in (value or "").replace(" ", "").split(","):
            if not part:
                continue
            if not part.isdigit() or not 2000 <= int(part) <= 2200:
                raise forms.ValidationError(
                    "Enter years as four digits separated by commas, e.g. 2027, 2028."
                )
            years.append(int(part))
        return sorted(set(years))

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(str(year) for year in value)
        return value


class ScheduleIndexPageForm(WagtailAdminPageForm):
    months_without_workshops = forms.TypedMultipleChoiceField(
        choices=MONTHS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Months in which you never run workshops; the schedule says so "
        "plainly instead of leaving a gap.",
    )
    draft_years = YearsField(
        required=False,
        help_text="Years whose dates are not settled yet, e.g. '2027'. The schedule "
        "marks them as a draft.",
    )
