"""What every public form on the site shares."""

from django import forms


def has_control_characters(value: str) -> bool:
    """True for text that could break out of a header or a CSV cell's line."""
    return any(ord(char) < 32 or ord(char) == 127 for char in value)


class PublicForm(forms.Form):
    """A form on the public site: labels without a trailing colon."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
