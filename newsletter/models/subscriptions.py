"""Who may be mailed, and the proof of it.

Mailing lists are snippets. A subscriber has one subscription per list, each with
its status; every change of consent is appended to a history that is never
edited. Suppressions outlive the people they stop: they hold a hash of the
address, not the address.
"""

import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField
from wagtail.search import index

from home.forms import has_control_characters
from home.models import BasePage

# RFC 5321 caps a path at 256 octets, so an address is at most 254 characters.
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 150


def normalise_email(value: str) -> str:
    """The one spelling of an address used for storage, lookups and hashing.

    Lower-cased as a whole: the local part is case-sensitive in theory, but no
    provider we would mail treats `Ada@` and `ada@` as two people, and one
    spelling is what makes "unique without regard to case" hold in the database.
    """
    return value.strip().lower()


def email_digest(value: str) -> str:
    """The SHA-256 of the normalised address, as 64 hexadecimal characters.

    A plain hash, not an HMAC keyed with SECRET_KEY: rotating the key would make
    every stored suppression unrecognisable and let erased or bounced people be
    mailed again. It is pseudonymous rather than anonymous (anyone holding an
    address can test it against the list), which is exactly the one use the
    list has: to recognise an address when it comes back.
    """
    return hashlib.sha256(normalise_email(value).encode()).hexdigest()


class MailingList(index.Indexed, models.Model):
    """A list people can subscribe to, such as the newsletter or workshop dates."""

    name = models.CharField(
        max_length=100,
        unique=True,
        help_text="The name subscribers see on forms and in emails.",
    )
    description = models.TextField(
        max_length=400,
        blank=True,
        help_text="One sentence under the name on sign-up forms: what arrives, "
        "and how often.",
    )
    is_public = models.BooleanField(
        "public",
        default=True,
        help_text="Offer this list on the sign-up forms. Untick for lists that "
        "staff fill by import only.",
    )
    double_opt_in = models.BooleanField(
        default=True,
        help_text="Ask new subscribers to confirm by email before they are "
        "mailed. Leave on unless you have a strong reason.",
    )
    announces_new_dates = models.BooleanField(
        "announce new workshop dates",
        default=False,
        help_text="Its subscribers can be told of newly published sessions, each "
        "only of those within the hours they gave. Its sign-up and preferences "
        "forms ask for a time zone and hours.",
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("description"),
        MultiFieldPanel(
            [
                FieldPanel("is_public"),
                FieldPanel("double_opt_in"),
                FieldPanel("announces_new_dates"),
            ],
            heading="Sign-up",
        ),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]
        verbose_name = "mailing list"

    def __str__(self) -> str:
        return self.name


LINK_KEY_LENGTH = 16
NAME_ENCODED_WORD = "=?"
NAME_ENCODED_WORD_MESSAGE = "A name cannot contain “=?”."


def name_problem(name: str) -> str | None:
    """What is wrong with a person's name, worded for them; None if nothing.

    One line, and no "=?", the start of an RFC 2047 encoded word: mail clients
    decode "=?utf-8?q?...?=" in headers, so a name with one could put words of
    a stranger's choosing into a subject or a From line. (The length is each
    field's own `max_length`, NAME_MAX_LENGTH.)
    """
    if has_control_characters(name):
        return "Use one line, without line breaks or tabs."
    if NAME_ENCODED_WORD in name:
        return NAME_ENCODED_WORD_MESSAGE
    return None


def new_link_key() -> str:
    """A fresh key for a subscriber's personal links (about 95 bits)."""
    return secrets.token_urlsafe(12)[:LINK_KEY_LENGTH]


class Subscriber(models.Model):
    """A person who asked for mail, known by one email address."""

    email = models.EmailField(
        max_length=EMAIL_MAX_LENGTH,
        unique=True,
        help_text="Stored in lower case; it cannot be changed here.",
    )
    email_hash = models.CharField(
        max_length=64,
        db_index=True,
        editable=False,
        help_text="SHA-256 of the address, matched against the suppression list.",
    )
    name = models.CharField(
        max_length=NAME_MAX_LENGTH,
        blank=True,
        help_text="How emails greet this person; optional.",
    )
    source = models.CharField(
        max_length=40,
        editable=False,
        help_text="Where the first subscription came from: a form or an import.",
    )
    # Every personal link carries this key, so changing it (the person's "sign
    # out of all links") makes every older link stop working. Empty for people
    # who subscribed before links had keys, whose old links must keep working
    # until they choose otherwise.
    link_key = models.CharField(
        max_length=LINK_KEY_LENGTH,
        blank=True,
        default=new_link_key,
        editable=False,
        help_text="Part of every personal link; changing it revokes them all.",
    )
    soft_bounce_count = models.PositiveIntegerField(
        default=0,
        editable=False,
        help_text="Temporary delivery failures reported by the provider.",
    )
    # When they can attend, for announcements of new workshop dates: each
    # hears only of sessions inside these hours of their own day.
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        help_text="IANA zone new dates are shown in; empty: the session's own.",
    )
    attend_from = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(23)],
        help_text="The earliest hour (0–23) a session may start; empty: any.",
    )
    attend_until = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
        help_text="The hour (1–24) by which a session must end; may be past "
        "midnight of the start hour (22 to 2).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    panels = [
        FieldPanel("email", read_only=True),
        FieldPanel("name"),
        FieldRowPanel(
            [
                FieldPanel("time_zone"),
                FieldPanel("attend_from"),
                FieldPanel("attend_until"),
            ],
            heading="When they can attend",
        ),
    ]

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The unique index on `email` then means "unique without regard to
            # case", whoever writes the row.
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="newsletter_subscriber_email_lower_case",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def has_hours(self) -> bool:
        return self.attend_from is not None and self.attend_until is not None

    def subscription_summary(self) -> str:
        """Each list and its status, from prefetched subscriptions where possible."""
        return "; ".join(
            f"{subscription.mailing_list.name} ({subscription.status})"
            for subscription in sorted(
                self.subscriptions.all(), key=lambda s: s.mailing_list.name
            )
        )

    subscription_summary.short_description = "Lists"


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", "Waiting for confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"


class Subscription(models.Model):
    """One subscriber on one list, and where that stands."""

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    mailing_list = models.ForeignKey(
        MailingList, on_delete=models.CASCADE, related_name="subscriptions"
    )
    status = models.CharField(
        max_length=20,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.PENDING,
    )
    consent_text = models.ForeignKey(
        "ConsentText",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The wording the subscriber agreed to when they last asked.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "mailing_list"],
                name="newsletter_one_subscription_per_list",
            ),
        ]
        indexes = [models.Index(fields=["mailing_list", "status"])]

    def __str__(self) -> str:
        return f"{self.subscriber_id} on {self.mailing_list_id}: {self.status}"


class ConsentText(models.Model):
    """One wording of the consent text, stored once, named by its digest."""

    digest = models.CharField(max_length=64, unique=True)
    text = models.TextField()
    first_used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "consent text version"

    def __str__(self) -> str:
        return f"Version {self.version}"

    @property
    def version(self) -> str:
        return self.digest[:12]

    @staticmethod
    def digest_of(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()


class ConsentAction(models.TextChoices):
    REQUESTED = "requested", "Asked to subscribe"
    SUBSCRIBED = "subscribed", "Subscribed without confirmation"
    CONFIRMED = "confirmed", "Confirmed by email"
    IMPORTED = "imported", "Imported by staff"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    SUPPRESSED = "suppressed", "Suppressed"
    SUPPRESSION_LIFTED = "suppression_lifted", "Suppression lifted"


class ConsentRecord(models.Model):
    """One entry in a subscriber's consent history; written once, never changed."""

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="consent_records"
    )
    mailing_list = models.ForeignKey(
        MailingList,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept beside the key: the history must still read right after a list is
    # renamed or deleted.
    list_name = models.CharField(max_length=100, blank=True)
    action = models.CharField(max_length=30, choices=ConsentAction.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=40)
    source_detail = models.CharField(max_length=255, blank=True)
    consent_text = models.ForeignKey(
        ConsentText,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
    )

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.list_name or 'all lists'})"

    def save(self, *args, **kwargs):
        # Proof of consent is only proof if nobody can rewrite it afterwards.
        if not self._state.adding:
            raise ValidationError("Consent records cannot be changed.")
        super().save(*args, **kwargs)


class SuppressionReason(models.TextChoices):
    HARD_BOUNCE = "hard_bounce", "Hard bounce"
    SOFT_BOUNCES = "soft_bounces", "Repeated soft bounces"
    COMPLAINT = "complaint", "Spam complaint"
    PROVIDER_UNSUBSCRIBE = "provider_unsubscribe", "Unsubscribed at the provider"
    ERASED = "erased", "Personal data erased"


class Suppression(models.Model):
    """An address that must never be mailed again, kept only as its hash."""

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=30, choices=SuppressionReason.choices)
    detail = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email_hash[:12]}… ({self.get_reason_display()})"


class ProviderEvent(models.Model):
    """A tracking event already acted on, so a provider's retry changes nothing."""

    esp_name = models.CharField(max_length=40)
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["esp_name", "event_id"], name="newsletter_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.esp_name} {self.event_type} {self.event_id}"


DEFAULT_CONSENT_TEXT = (
    "By subscribing you agree that we may email you the lists you chose. We "
    "keep a record of when and how you agreed. Every email has a link to change "
    "your choices or unsubscribe in one click."
)


@register_setting(icon="mail")
class NewsletterSettings(BaseSiteSetting):
    """The wording shown beside every sign-up form."""

    consent_text = models.TextField(
        max_length=1000,
        default=DEFAULT_CONSENT_TEXT,
        help_text="Shown above the subscribe button on every sign-up form. Each "
        "wording is kept, and every sign-up records which one the person saw.",
    )

    panels = [FieldPanel("consent_text")]

    class Meta:
        verbose_name = "newsletter settings"


class NewsletterSignupPage(BasePage):
    """The sign-up form on a page of its own, with the editor's words around it."""

    introduction = models.TextField(
        max_length=400,
        help_text="One or two sentences above the form: what subscribers get.",
    )
    body = RichTextField(
        blank=True,
        features=["bold", "italic", "link", "ol", "ul"],
        help_text="More about the lists, shown below the form. Optional.",
    )
    form_heading = models.CharField(
        max_length=120,
        default="Subscribe",
        help_text="The heading over the form.",
    )
    thank_you_text = RichTextField(
        blank=True,
        features=["bold", "italic", "link"],
        help_text="Shown after someone submits the form, under 'Check your "
        "inbox'. Leave empty for the standard wording.",
    )

    content_panels = [
        *BasePage.content_panels,
        FieldPanel("introduction"),
        FieldPanel("form_heading"),
        FieldPanel("body"),
        FieldPanel("thank_you_text"),
    ]
    search_fields = [
        *BasePage.search_fields,
        index.SearchField("introduction"),
        index.SearchField("body"),
    ]

    parent_page_types = ["home.HomePage"]
    subpage_types: list[str] = []
    max_count = 1

    class Meta:
        verbose_name = "newsletter sign-up page"
