"""Demo schedule for the fictional Tidewell Training.

Dates are worked out from today, so the demo always has upcoming sessions: in
several time zones, one whose time is to be announced, one with two possible
dates, and one cancelled. One session is three weeks past, with its attendance
recorded and one certificate issued under a fixed code the README can cite.
"""

import calendar
from datetime import date, time, timedelta
from decimal import Decimal
from typing import TextIO

from django.urls import reverse
from django.utils import timezone
from wagtail.models import Site
from wagtail.rich_text import RichText

from home.demo import ensure_child_page
from home.models import HomePage
from testimonials.models import Testimonial

from . import demo_notices, services
from .models import (
    Certificate,
    CertificateSettings,
    InvoiceRequest,
    InvoiceRequestPage,
    InvoiceStatus,
    Order,
    OrderStatus,
    PaidVia,
    PaymentMethod,
    ScheduleIndexPage,
    SeatCode,
    SessionStatus,
    Ticket,
    TicketStatus,
    TicketType,
    WorkshopPage,
    WorkshopSession,
)
from .selectors import add_months

MONTHS_WITHOUT_WORKSHOPS = [1, 7, 8, 11]


def load(*, stdout: TextIO) -> None:
    home = HomePage.objects.get()
    today = timezone.localdate()
    schedule = ensure_child_page(
        home,
        ScheduleIndexPage,
        title="Schedule",
        slug="schedule",
        show_in_menus=True,
        introduction=(
            "Every workshop is live on a video call, with at most twenty people. "
            "Pick the date and time zone that suit you; we run sessions for the "
            "Americas, Europe and Australia."
        ),
        search_description="Upcoming dates of Tidewell Training's live online "
        "workshops, in your own time zone.",
        months_without_workshops=MONTHS_WITHOUT_WORKSHOPS,
        draft_years=[today.year + 1],
    )
    months = workshop_months(today)
    responding = ensure_workshop(schedule, RESPONDING, sessions_for_responding(months))
    writing = ensure_workshop(schedule, WRITING, sessions_for_writing(months))
    for spec, workshops in (
        (STANDARD_SEAT, [responding]),
        (TEAM_PACK, [responding]),
        (TEAM_CODE, [responding]),
        (WRITING_SEAT, [writing]),
    ):
        ticket_type, created = TicketType.objects.get_or_create(
            name=spec["name"], defaults=spec
        )
        if created:
            ticket_type.workshops.set(workshops)
    stdout.write(
        f"Schedule with {WorkshopSession.objects.count()} sessions ready "
        f"({responding.title}).\n"
    )
    ensure_completed_session(responding, today=today, stdout=stdout)
    ensure_group_orders(home, today=today, stdout=stdout)
    demo_notices.load(stdout=stdout)


# Fictional people; the first is the one whose certificate is issued.
PAST_ATTENDEES = [
    ("Zoë Nguyễn", "zoe.nguyen@example.com", True),
    ("Łukasz Wójcik", "lukasz.wojcik@example.com", True),
    ("Aroha Te Rangi", "aroha.terangi@example.com", True),
    ("Søren Ødegaard", "soren.odegaard@example.com", False),
]
PAST_SESSION_UID = "demo-completed-session@tidewell.example"
# Fixed so the README can name its verification page; real codes are random.
DEMO_CERTIFICATE_CODE = "DEMX-CERT-TDWX-ZNGY-8KQP"


def ensure_completed_session(
    workshop: WorkshopPage, *, today: date, stdout: TextIO
) -> None:
    """A session three weeks past, attendance recorded, one certificate issued."""
    session = WorkshopSession.objects.filter(calendar_uid=PAST_SESSION_UID).first()
    if session is None:
        session = WorkshopSession(
            calendar_uid=PAST_SESSION_UID,
            date=today - timedelta(days=21),
            start_time=time(10),
            end_time=time(13, 30),
            time_zone="Europe/London",
            audience_label="UK and Europe",
            status=SessionStatus.COMPLETED,
            meeting_url=f"https://meet.tidewell.example/{workshop.slug}-past",
        )
        # Through a revision, so the page's next edit keeps the session.
        workshop.sessions.add(session)
        workshop.save_revision().publish()
        session = WorkshopSession.objects.get(calendar_uid=PAST_SESSION_UID)
        seat = TicketType.objects.get(name=STANDARD_SEAT["name"])
        for name, email, _ in PAST_ATTENDEES:
            order = Order.objects.create(
                session=session,
                ticket_type=seat,
                quantity=1,
                unit_price=seat.price,
                total=seat.price,
                buyer_name=name,
                buyer_email=email,
                buyer_time_zone="Europe/London",
                payment_method=PaymentMethod.DEMO,
                status=OrderStatus.PAID,
                paid_at=timezone.now() - timedelta(days=40),
            )
            Ticket.objects.create(
                order=order,
                session=session,
                attendee_name=name,
                attendee_email=email,
                status=TicketStatus.VALID,
            )
        services.session_attendance_record(
            session_id=session.pk,
            attended_ticket_ids=Ticket.objects.filter(
                session=session,
                attendee_email__in=[email for _, email, came in PAST_ATTENDEES if came],
            ).values_list("pk", flat=True),
        )
        _issue_demo_certificate(session)
    _report_certificate(session, stdout=stdout)


def _issue_demo_certificate(session: WorkshopSession) -> None:
    ticket = Ticket.objects.get(session=session, attendee_email=PAST_ATTENDEES[0][1])
    certificate = Certificate.objects.create(ticket=ticket, code=DEMO_CERTIFICATE_CODE)
    # The model's own transition, not the service: the demo emails nobody.
    certificate.issue(
        attendee_name=ticket.attendee_name,
        workshop_title=session.workshop.title,
        session_date=session.date,
        duration_minutes=session.length_minutes,
        now=timezone.now(),
    )
    certificate.mark_emailed(now=timezone.now())
    site = Site.objects.filter(is_default_site=True).first()
    if site is not None:
        wording = CertificateSettings.for_site(site)
        if not wording.signatory_name:
            wording.signatory_name = "Maren Okafor"
            wording.signatory_title = "Lead trainer, Tidewell Training"
            wording.save()


def _report_certificate(session: WorkshopSession, *, stdout: TextIO) -> None:
    certificate = Certificate.objects.filter(code=DEMO_CERTIFICATE_CODE).first()
    if certificate is None:
        return
    stdout.write(
        f"A past session with attendance recorded; a certificate to verify at "
        f"{services.certificate_url(certificate)}\n"
    )
    requester = Ticket.objects.filter(
        session=session, attendee_email=PAST_ATTENDEES[1][1]
    ).first()
    if requester is not None:
        stdout.write(
            f"{requester.attendee_name} may request one at "
            f"{services.absolute(reverse('workshops:ticket', args=[requester.token]))}"
            "\n"
        )


INVOICE_PAGE = {
    "title": "Request an invoice",
    "slug": "invoice",
    "search_description": "Ask for an invoice for a team's seats, paid by card, "
    "ACH, wire or check; a seat code follows the payment.",
    "intro": "<p>Seats for your team on one invoice, in US dollars: pay by card, "
    "US bank account (ACH), SWIFT wire or check. Once the money arrives we email "
    "a seat code; each colleague books any public date within a year and enters "
    "it instead of paying.</p>",
}
# The words in the home page's FAQ and on Group training that become a link to it.
INVOICE_LINK_WORDS = ("ask us for an invoice",)
# Fictional buyers: one whose invoice is paid (its code ready to redeem), one
# waiting for staff to act.
PAID_REQUEST = {
    "organisation": "Brightwater Maintainers Collective",
    "contact_name": "Noa Achterberg",
    "email": "billing@brightwater.example",
    "seats": 6,
    "po_number": "BW-2291",
    "payment_method": "wire",
    "w9_wanted": True,
}
OPEN_REQUEST = {
    "organisation": "Lantern Meetups",
    "contact_name": "Kofi Mensah",
    "email": "kofi@lantern.example",
    "seats": 4,
    "payment_method": "check",
    "notes": "Our treasurer mails checks on Fridays.",
}


def ensure_group_orders(home: HomePage, *, today: date, stdout: TextIO) -> None:
    """The invoice request page, linked from the FAQ and Group training, and two
    requests: one paid with its seat code, one for staff to mark paid."""
    group_training = home.get_children().filter(slug="group-training").first()
    page = InvoiceRequestPage.objects.first() or ensure_child_page(
        home, InvoiceRequestPage, **INVOICE_PAGE
    )
    for linked in (home, group_training.specific if group_training else None):
        if linked is not None:
            link_invoice_words(linked, page)
    if not InvoiceRequest.objects.exists():
        paid_on = today - timedelta(days=12)
        paid = InvoiceRequest.objects.create(**PAID_REQUEST)
        # The models' own transitions, not the services: the demo emails nobody.
        paid.mark_paid(
            paid_via=PaidVia.WIRE,
            paid_on=paid_on,
            amount=Decimal("1950.00"),
            reference="SWIFT BWMC-0042",
        )
        paid.unit_price = Decimal("325.00")
        paid.save()
        seat_code = SeatCode(
            seats=paid.seats,
            paid_on=paid_on,
            valid_until=services.codes.code_valid_until(paid_on),
            buyer_name=paid.contact_name,
            buyer_email=paid.email,
            organisation=paid.organisation,
            invoice_request=paid,
        )
        seat_code.assign_code()
        seat_code.save()
        InvoiceRequest.objects.create(**OPEN_REQUEST)
    _report_group_orders(page, stdout=stdout)


def link_invoice_words(page, invoice_page: InvoiceRequestPage) -> None:
    """Turn "ask us for an invoice" in a page's body into a link to the form."""
    raw = page.body.get_prep_value()
    linked = _with_invoice_links(raw, invoice_page.pk)
    if linked != raw:
        page.body = linked
        page.save()


def _with_invoice_links(raw, page_pk: int):
    """The stream's raw data with the words linked, in every rich text in it."""
    if isinstance(raw, dict):
        return {key: _with_invoice_links(value, page_pk) for key, value in raw.items()}
    if isinstance(raw, list):
        return [_with_invoice_links(value, page_pk) for value in raw]
    if isinstance(raw, str) and raw.startswith("<"):
        for words in INVOICE_LINK_WORDS:
            link = f'<a linktype="page" id="{page_pk}">{words}</a>'
            if words in raw and link not in raw:
                raw = raw.replace(words, link)
    return raw


def _report_group_orders(page: InvoiceRequestPage, *, stdout: TextIO) -> None:
    seat_code = SeatCode.objects.filter(
        invoice_request__organisation=PAID_REQUEST["organisation"]
    ).first()
    stdout.write(f"Invoice request page at {page.full_url or page.url}\n")
    if seat_code is not None and seat_code.code:
        stdout.write(
            f"A paid invoice's seat code, ready to redeem at checkout: "
            f"{seat_code.code} ({seat_code.seats} seats); the buyer's page: "
            f"{services.seat_code_url(seat_code)}\n"
        )
    waiting = InvoiceRequest.objects.filter(status=InvoiceStatus.REQUESTED).first()
    if waiting is not None:
        stdout.write(
            f"{waiting.organisation} awaits an invoice: Sales → Invoices in the "
            "admin (in demo mode, 'Mark invoice paid (demo)' issues its code)\n"
        )


def workshop_months(today: date) -> list[date]:
    """The next four months, after this one, in which workshops run."""
    months, month = [], add_months(today.replace(day=1), 1)
    while len(months) < 4:
        if month.month not in MONTHS_WITHOUT_WORKSHOPS:
            months.append(month)
        month = add_months(month, 1)
    return months


def nth_weekday(month: date, weekday: int, nth: int) -> date:
    """The nth (from 1) weekday of a month: nth_weekday(m, THURSDAY, 2)."""
    days = [
        week[weekday]
        for week in calendar.monthcalendar(month.year, month.month)
        if week[weekday]
    ]
    return month.replace(day=days[nth - 1])


def sessions_for_responding(months: list[date]) -> list[dict]:
    first, second, third, fourth = months
    return [
        {
            "date": nth_weekday(first, calendar.TUESDAY, 2),
            "start_time": time(10),
            "end_time": time(13, 30),
            "time_zone": "America/New_York",
            "audience_label": "Americas",
        },
        {
            "date": nth_weekday(first, calendar.THURSDAY, 2),
            "start_time": time(14),
            "end_time": time(17, 30),
            "time_zone": "Europe/London",
            "audience_label": "UK and Europe",
        },
        {
            "date": nth_weekday(second, calendar.WEDNESDAY, 1),
            "start_time": time(9, 30),
            "end_time": time(13),
            "time_zone": "Australia/Sydney",
            "audience_label": "Australian time",
            "capacity": 16,
        },
        {
            "date": nth_weekday(second, calendar.TUESDAY, 3),
            "time_zone": "America/Los_Angeles",
            "audience_label": "US Pacific",
            "status": SessionStatus.TENTATIVE,
        },
        {
            "date": nth_weekday(third, calendar.THURSDAY, 2),
            "alternative_date": nth_weekday(third, calendar.THURSDAY, 3),
            "start_time": time(15),
            "end_time": time(18, 30),
            "time_zone": "Europe/Berlin",
            "audience_label": "Central Europe",
            "status": SessionStatus.TENTATIVE,
        },
        {
            "date": nth_weekday(third, calendar.MONDAY, 4),
            "start_time": time(11),
            "end_time": time(14, 30),
            "time_zone": "America/Chicago",
            "audience_label": "Americas",
            "status": SessionStatus.CANCELLED,
        },
        {
            "date": nth_weekday(fourth, calendar.TUESDAY, 2),
            "start_time": time(10),
            "end_time": time(13, 30),
            "time_zone": "America/New_York",
            "audience_label": "Americas",
        },
    ]


def sessions_for_writing(months: list[date]) -> list[dict]:
    return [
        {
            "date": nth_weekday(months[1], calendar.THURSDAY, 2),
            "start_time": time(16),
            "end_time": time(18),
            "time_zone": "Europe/London",
            "audience_label": "UK and Europe",
        },
        {
            "date": nth_weekday(months[3], calendar.WEDNESDAY, 3),
            "start_time": time(18),
            "end_time": time(20),
            "time_zone": "America/New_York",
            "audience_label": "Americas",
        },
    ]


def ensure_workshop(
    schedule: ScheduleIndexPage, spec: dict, sessions: list[dict]
) -> WorkshopPage:
    existing = schedule.get_children().filter(slug=spec["slug"]).first()
    if existing is not None:
        return existing.specific
    workshop = WorkshopPage(**spec, body=spec_body(spec["slug"]))
    for fields in sessions:
        # A private joining link of the fictional company's video-call service.
        meeting_url = (
            f"https://meet.tidewell.example/{spec['slug']}-{fields['date']:%Y%m%d}"
        )
        workshop.sessions.add(WorkshopSession(meeting_url=meeting_url, **fields))
    schedule.add_child(instance=workshop)
    workshop.save_revision().publish()
    return workshop


def spec_body(slug: str) -> list:
    body = list(BODIES[slug])
    chosen = list(Testimonial.objects.live()[:3])
    if chosen and slug == RESPONDING["slug"]:
        body.append(
            (
                "testimonials",
                {"heading": "What participants say", "testimonials": chosen},
            )
        )
    return body


STANDARD_SEAT = {
    "name": "Standard seat",
    "description": "One person, one session.",
    "price": Decimal("350.00"),
}
TEAM_PACK = {
    "name": "Team of five",
    "description": "Five seats in the same session, at a team price.",
    "price": Decimal("1500.00"),
    "seats_per_ticket": 5,
    "max_per_order": 4,
}
TEAM_CODE = {
    "name": "Team code for five",
    "description": "Five seats on any dates within a year: we email a seat code.",
    "price": Decimal("1500.00"),
    "seats_per_ticket": 5,
    "max_per_order": 4,
    "issues_code": True,
}
WRITING_SEAT = {
    "name": "Seat in the writing session",
    "description": "One person, one session.",
    "price": Decimal("180.00"),
}

RESPONDING = {
    "title": "Responding to Code of Conduct Reports",
    "slug": "responding-to-reports",
    "summary": (
        "A hands-on workshop for event organisers, moderators and maintainers. "
        "You leave able to take a report, judge its urgency, decide on a fair "
        "response and explain it, with a written process your team can share."
    ),
    "search_description": "Learn to take, assess and resolve Code of Conduct "
    "reports in a live, small-group workshop.",
    "duration_minutes": 210,
    "breaks": "Two 10-minute breaks",
    "platform": "Zoom",
    "capacity": 20,
    "price": Decimal("350.00"),
}

WRITING = {
    "title": "Writing a Code of Conduct People Can Use",
    "slug": "writing-a-code-of-conduct",
    "summary": (
        "A two-hour session on turning a list of values into a document with "
        "clear scope, reporting routes and consequences, ready to publish."
    ),
    "search_description": "Draft a usable Code of Conduct with reporting "
    "routes and consequences in a two-hour live session.",
    "duration_minutes": 120,
    "breaks": "One 5-minute break",
    "platform": "Zoom",
    "capacity": 24,
    "price": Decimal("180.00"),
}

BODIES = {
    RESPONDING["slug"]: [
        (
            "learning_outcomes",
            {
                "heading": "What you will learn",
                "outcomes": [
                    "Take a report without judging, promising or interrogating",
                    "Sort reports by urgency and act on safety first",
                    "Gather the facts you need and keep a fair record",
                    "Choose a proportionate response from a range of options",
                    "Tell the people involved what happens next, in writing",
                ],
            },
        ),
        (
            "topics",
            {
                "heading": "What we cover",
                "topics": [
                    {
                        "title": "The first ten minutes",
                        "description": "Listening, safety, and what not to say.",
                    },
                    {
                        "title": "Triage",
                        "description": "Urgent, serious, or ordinary: how to tell "
                        "and who to involve.",
                    },
                    {
                        "title": "Investigation and records",
                        "description": "Proportionate fact-finding and notes that "
                        "stay useful months later.",
                    },
                    {
                        "title": "Decisions and communication",
                        "description": "Outcomes, appeals and messages to the "
                        "reporter, the reported person and the community.",
                    },
                    {
                        "title": "Looking after responders",
                        "description": "Rotas, conflicts of interest and rest.",
                    },
                ],
            },
        ),
        ("heading", {"text": "Practice scenarios", "level": "h2"}),
        (
            "practice_scenario",
            {
                "title": "The hallway conversation",
                "situation": "During the afternoon break of a two-day conference, "
                "an attendee tells a volunteer that a speaker repeatedly commented "
                "on her appearance at the speakers' dinner. She does not want to "
                "make a formal complaint yet. The speaker's next talk starts in "
                "forty minutes.",
                "practice": "Taking the report, agreeing next steps with the "
                "reporter, and deciding what must happen before the talk.",
            },
        ),
        (
            "practice_scenario",
            {
                "title": "The respected contributor",
                "situation": "Three separate newcomers to an open-source project "
                "report dismissive, sarcastic reviews from the same long-time "
                "maintainer. None of the comments breaks a rule on its own.",
                "practice": "Seeing patterns across reports, conflicts of "
                "interest, and a response that changes behaviour.",
            },
        ),
        (
            "faq",
            {
                "heading": "Frequently asked questions",
                "questions": [
                    {
                        "question": "Is the session recorded?",
                        "answer": RichText(
                            "<p>No. People practise real skills with invented "
                            "cases, and that needs a room without a recorder. "
                            "You receive the slides and templates afterwards.</p>"
                        ),
                    },
                    {
                        "question": "What if I can no longer attend?",
                        "answer": RichText(
                            "<p>Move to another date at no cost up to seven "
                            "days before, or send a colleague in your place.</p>"
                        ),
                    },
                ],
            },
        ),
    ],
    WRITING["slug"]: [
        (
            "learning_outcomes",
            {
                "heading": "What you will learn",
                "outcomes": [
                    "Define who and which spaces your code covers",
                    "Offer reporting routes that work when an organiser is involved",
                    "Describe consequences without promising what you cannot do",
                ],
            },
        ),
    ],
}
