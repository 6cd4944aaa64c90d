"""The workshop page's admin form with the date-change message; the waiting list's."""

from django import forms

from home.forms import PublicForm, validate_one_line

from .forms import WorkshopPageForm


class WorkshopPageNoticeForm(WorkshopPageForm):
    """The message to ticket holders is written for one publish: it starts empty."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The latest revision still holds the message the last notice used;
        # showing it again would send it with the next, unrelated change.
        if not self.is_bound and "notice_message" in self.fields:
            self.initial["notice_message"] = ""


class WaitlistJoinForm(PublicForm):
    """'Tell me if a seat frees up': who to tell."""

    name = forms.CharField(
        max_length=200, validators=[validate_one_line], label="Your name"
    )
    email = forms.EmailField(max_length=254, label="Your email address")
