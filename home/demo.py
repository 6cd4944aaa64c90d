"""Demo content for the fictional company Tidewell Training: pages and settings.

Everything here is original writing. `load` creates what is missing and leaves
alone what exists, so running it twice changes nothing.
"""

import io
import math
from typing import TextIO
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from PIL import Image as PILImage
from PIL import ImageDraw
from wagtail.documents import get_document_model
from wagtail.images import get_image_model
from wagtail.models import Page, Site
from wagtail.rich_text import RichText

from .models import ContentPage, HomePage, SiteSettings

ORGANISATION = "Tidewell Training"


def load(*, stdout: TextIO) -> None:
    home = ensure_home_page()
    for spec in CONTENT_PAGES:
        ensure_child_page(home, ContentPage, **spec)
    ensure_site_settings(home)
    stdout.write(f"Home page and {len(CONTENT_PAGES)} content pages ready.\n")


def ensure_home_page() -> HomePage:
    """The site's root page, replacing the welcome page Wagtail installs."""
    home = HomePage.objects.first()
    site = Site.objects.filter(is_default_site=True).first()
    if home is None:
        home = Page.get_first_root_node().add_child(
            instance=HomePage(
                title="Handle conduct incidents with care and confidence",
                slug="tidewell",
                seo_title="Code of Conduct incident response training",
                search_description=(
                    "Live online workshops that teach event organisers and "
                    "community leaders to respond to Code of Conduct reports."
                ),
                introduction=(
                    "Live online workshops for event organisers and community "
                    "leaders who want a calm, fair and documented way to act "
                    "when someone reports a Code of Conduct violation."
                ),
                hero_image=demo_image("Tidewell hero", draw_hero, (1280, 960)),
                body=HOME_BODY,
            )
        )
        if site is not None:
            welcome = site.root_page
            site.root_page = home
            site.save()
            if type(welcome.specific) is Page and welcome.pk != home.pk:
                welcome.delete()
    site = site or Site(root_page=home, is_default_site=True)
    # Full URLs (canonical links, sitemap, emails) should use the address the
    # site is really served from.
    base_url = urlsplit(settings.BASE_URL)
    site.hostname = base_url.hostname or "localhost"
    site.port = base_url.port or (443 if base_url.scheme == "https" else 80)
    site.site_name = ORGANISATION
    site.save()
    return home


def ensure_child_page(parent: Page, model: type[Page], **fields) -> Page:
    existing = parent.get_children().filter(slug=fields["slug"]).first()
    if existing is not None:
        return existing.specific
    return parent.add_child(instance=model(**fields))


def ensure_site_settings(home: HomePage) -> SiteSettings:
    site = Site.objects.get(root_page=home)
    site_settings = SiteSettings.for_site(site)
    if site_settings.organisation_name:
        return site_settings
    site_settings.organisation_name = ORGANISATION
    site_settings.tagline = "Code of Conduct incident response, taught live."
    site_settings.contact_email = "hello@tidewell.example"
    site_settings.postal_address = (
        "Tidewell Training LLC\n2207 Larkspur Avenue, Suite 4\n"
        "Portland, OR 97214\nUnited States"
    )
    site_settings.logo = demo_image("Tidewell logo", draw_logo, (256, 256))
    site_settings.w9_document = demo_document(
        "Tidewell W-9 (demo)",
        "tidewell-w9-demo.pdf",
        simple_pdf(
            [
                "Form W-9 - demo document",
                "",
                "Tidewell Training is a fictional company in the demo content",
                "of this site. A real business uploads its signed W-9 here:",
                "Settings > Site settings > W-9 document.",
            ]
        ),
    )
    site_settings.social_links = [
        ("link", {"label": "Mastodon", "url": "https://mastodon.example/@tidewell"}),
        ("link", {"label": "LinkedIn", "url": "https://linkedin.example/tidewell"}),
    ]
    site_settings.save()
    return site_settings


def demo_image(title: str, draw, size: tuple[int, int]):
    """A Wagtail image drawn here, so the demo ships no third-party artwork."""
    Image = get_image_model()
    existing = Image.objects.filter(title=title).first()
    if existing is not None:
        return existing
    picture = PILImage.new("RGB", size, "#f4f2f7")
    draw(ImageDraw.Draw(picture), size)
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    filename = title.lower().replace(" ", "-") + ".png"
    return Image.objects.create(title=title, file=ImageFile(buffer, name=filename))


def draw_logo(pen: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
    width, height = size
    pen.rectangle((0, 0, width, height), fill="#4a1f73")
    for row, colour in enumerate(("#ffffff", "#d9c8ee", "#a98bd0")):
        y = height * (0.38 + row * 0.15)
        points = [
            (x, y + math.sin(x / width * 2 * math.pi) * height * 0.06)
            for x in range(0, width + 1, 4)
        ]
        pen.line(points, fill=colour, width=max(6, width // 24))


def draw_hero(pen: ImageDraw.ImageDraw, size: tuple[int, int]) -> None:
    width, height = size
    pen.rectangle((0, 0, width, height), fill="#e8e1f1")
    colours = ("#4a1f73", "#6b3fa0", "#8f6bbf", "#b9a2d8", "#0b6e4f")
    for band, colour in enumerate(colours):
        y = height * (0.25 + band * 0.13)
        points = [
            (x, y + math.sin((x / width + band * 0.2) * 3 * math.pi) * height * 0.05)
            for x in range(0, width + 1, 8)
        ]
        pen.line(points, fill=colour, width=height // 30)


def demo_document(title: str, filename: str, content: bytes):
    Document = get_document_model()
    existing = Document.objects.filter(title=title).first()
    if existing is not None:
        return existing
    return Document.objects.create(title=title, file=ContentFile(content, filename))


def simple_pdf(lines: list[str]) -> bytes:
    """A one-page PDF of plain text lines, written by hand to avoid a dependency."""
    text = "BT /F1 14 Tf 72 740 Td 20 TL " + " ".join(
        "({}) '".format(
            line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        )
        for line in lines
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s ET\nendstream"
        % (len(text) + 3, text.encode("latin-1")),
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)


def rich(html: str) -> RichText:
    return RichText(html)


HOME_BODY = [
    ("heading", {"text": "Why teams come to us", "level": "h2"}),
    (
        "paragraph",
        rich(
            "<p>Most Code of Conduct documents say what behaviour is not welcome. "
            "Far fewer say what happens next. When a report arrives during a "
            "conference or in a busy chat server, the people on duty have to "
            "listen, keep others safe, decide, and explain their decision, often "
            "within hours.</p>"
            "<p>Our workshops give them a rehearsed process. You practise taking "
            "a report, judging urgency, writing up what you heard and "
            "communicating an outcome, using scenarios drawn from real kinds of "
            "events, with every detail invented.</p>"
        ),
    ),
    (
        "quote",
        {
            "quote": "We stopped improvising. The next report we received was "
            "handled in an afternoon, and the person who made it thanked us.",
            "attribution": "A volunteer lead at a regional developer conference",
        },
    ),
    ("upcoming_sessions", {"heading": "Upcoming workshops", "count": 4}),
    ("heading", {"text": "How the workshops run", "level": "h2"}),
    (
        "paragraph",
        rich(
            "<ul><li>Live on a video call, with at most 20 participants.</li>"
            "<li>Three and a half hours, with two breaks.</li>"
            "<li>Small-group practice with a facilitator in every room.</li>"
            "<li>A written response template you keep.</li></ul>"
        ),
    ),
    (
        "testimonials_by_tag",
        {"heading": "From conference teams", "tag": "conferences", "count": 3},
    ),
    ("newsletter_signup", {"heading": "Get Diversity Deep Dives by email"}),
    (
        "faq",
        {
            "heading": "Questions people ask first",
            "questions": [
                {
                    "question": "Do I need experience handling incidents?",
                    "answer": rich(
                        "<p>No. Some participants have never received a report; "
                        "others have handled dozens. The practice groups are "
                        "mixed on purpose.</p>"
                    ),
                },
                {
                    "question": "Can my whole team attend together?",
                    "answer": rich(
                        "<p>Yes. Buy several seats at once, or ask us for an "
                        "invoice and receive a code your colleagues redeem on "
                        "any date within a year.</p>"
                    ),
                },
            ],
        },
    ),
]

CONTENT_PAGES = [
    {
        "title": "About us",
        "slug": "about",
        "show_in_menus": True,
        "introduction": "A small team of facilitators who have sat on both sides "
        "of a Code of Conduct report.",
        "search_description": "Who teaches Tidewell Training's incident "
        "response workshops, and how we work.",
        "body": [
            (
                "paragraph",
                rich(
                    "<p>Tidewell Training started when three volunteers from "
                    "different communities compared notes after a difficult "
                    "year. Each had written a Code of Conduct; none had been "
                    "taught what to do when someone used it.</p>"
                    "<p>We now teach that skill to conference teams, open-source "
                    "maintainers, meetup hosts and moderators of online "
                    "communities. Our workshops are live, small and practical, "
                    "and we update the scenarios every season.</p>"
                ),
            ),
            ("heading", {"text": "What we believe", "level": "h2"}),
            (
                "paragraph",
                rich(
                    "<ul><li>People who report harm deserve a prompt, "
                    "respectful answer.</li><li>People who are reported "
                    "deserve a fair process.</li><li>Responders deserve "
                    "support, rest and clear limits.</li></ul>"
                ),
            ),
            (
                "paragraph",
                rich(
                    "<p><em>Tidewell Training is a fictional company used as "
                    "the demo content of this site.</em></p>"
                ),
            ),
        ],
    },
    {
        "title": "Group training",
        "slug": "group-training",
        "show_in_menus": True,
        "introduction": "Seats for a whole team, paid by invoice, or a private "
        "workshop at a time that suits you.",
        "search_description": "Train a whole team: group seats by invoice, or "
        "a private workshop for your organisation.",
        "body": [
            ("heading", {"text": "Seats for your team", "level": "h2"}),
            (
                "paragraph",
                rich(
                    "<p>Buy several seats at checkout, or ask us for an invoice. "
                    "We accept card, ACH, bank transfer and check in US "
                    "dollars, and can send our W-9. Once the invoice is paid "
                    "you receive a code worth your seats; colleagues redeem it "
                    "on any public date within one year.</p>"
                ),
            ),
            ("heading", {"text": "A private workshop", "level": "h2"}),
            (
                "paragraph",
                rich(
                    "<p>For groups of eight or more we run the workshop on a "
                    "date of your choosing, with scenarios adapted to your "
                    "kind of event or community.</p>"
                ),
            ),
            # inquiries/demo.py adds a button to the request form under this page.
        ],
    },
    {
        "title": "Privacy",
        "slug": "privacy",
        "introduction": "What we collect, why, and how long we keep it.",
        "search_description": "How Tidewell Training handles personal data.",
        "body": [
            (
                "paragraph",
                rich(
                    "<p>When you buy a ticket we keep your name, email address "
                    "and the session you chose, so that we can send joining "
                    "details and tell you about changes. Payments are handled "
                    "by our payment provider; we never see your card number.</p>"
                    "<p>When you subscribe to a mailing list we record when and "
                    "how you agreed. You can unsubscribe from any email in one "
                    "click, and ask us to export or erase your data at any "
                    "time.</p>"
                ),
            ),
        ],
    },
    {
        "title": "Accessibility",
        "slug": "accessibility",
        "introduction": "How we make the site and the workshops usable by everyone.",
        "search_description": "Accessibility of the Tidewell Training site "
        "and workshops.",
        "body": [
            (
                "paragraph",
                rich(
                    "<p>This site aims to meet WCAG 2.2 at level AA. Every page "
                    "is checked automatically before each release.</p>"
                    "<p>In workshops we caption the call, share slides in "
                    "advance on request, and offer breaks every hour. Tell us "
                    "what you need when you book; you never have to explain "
                    "why.</p>"
                ),
            ),
        ],
    },
]
