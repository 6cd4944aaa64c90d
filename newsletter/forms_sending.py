"""The form staff fill in to send an issue: which list, and now or later."""

from django import forms
from django.utils import timezone
from wagtail.admin.widgets import AdminDateTimeInput

from .models import MailingList


class SendForm(forms.Form):
    """Choose the list and the time; the confirmation step shows the count."""

    mailing_list = forms.ModelChoiceField(
        label="Mailing list",
        queryset=MailingList.objects.all(),
        empty_label=None,
        widget=forms.RadioSelect,
        help_text="Everyone confirmed on this list who has not had this issue yet.",
    )
    when = forms.ChoiceField(
        label="When",
        choices=[("now", "Send now"), ("later", "Schedule for later")],
        initial="now",
        widget=forms.RadioSelect,
    )
    scheduled_at = forms.DateTimeField(
        label="Send at",
        required=False,
        widget=AdminDateTimeInput,
        help_text="In the site's time zone. Only for a scheduled send.",
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, counts: dict[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        counts = counts or {}
        self.fields["mailing_list"].label_from_instance = lambda ml: (
            f"{ml.name} ({counts.get(ml.pk, 0):,} recipients)"
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("when") == "later":
            scheduled_at = cleaned.get("scheduled_at")
            if scheduled_at is None:
                self.add_error("scheduled_at", "Choose when to send it.")
            elif scheduled_at <= timezone.now():
                self.add_error("scheduled_at", "Choose a time in the future.")
        else:
            cleaned["scheduled_at"] = None
        return cleaned
