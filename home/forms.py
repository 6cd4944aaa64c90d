"""What every public form on the site shares."""

from django import forms
from django.core.exceptions import ValidationError


def has_control_characters(value: str) -> bool:
    """True for text that could break out of a header or a CSV cell's line."""
    return any(ord(char) < 32 or ord(char) == 127 for char in value)


def validate_one_line(value: str) -> None:
    """A form field's validator: no line breaks, tabs or other control characters."""
    if has_control_characters(value):
        raise ValidationError("Use one line, without line breaks or tabs.")


class PublicForm(forms.Form):
    """A form on the public site: labels without a trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
