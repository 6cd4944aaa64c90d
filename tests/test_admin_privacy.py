"""Personal data in the admin: every route Wagtail makes for a model, not just menus.

Signs in as staff who may not see subscribers, buyers or attendees (an editor, a
newsletter sender, a moderator) and requests every admin URL the project and
Wagtail register, filled in with the keys of personal records; no answer may
contain one of their addresses.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.exceptions import NoReverseMatch
from django.utils import timezone
from wagtail.admin.views.bulk_action.registry import bulk_action_registry
from wagtail.log_actions import log
from wagtail.models import GroupPagePermission

from inquiries.models import ContactMessage, GroupTrainingRequest
from newsletter import services as newsletter_services
from newsletter.models import (
    ConsentRecord,
    Delivery,
    DeliveryState,
    IssueSend,
    SendStatus,
    Subscriber,
)
from tests.newsletter.factories import (
    MailingListFactory,
    NewsletterArchivePageFactory,
    NewsletterIssuePageFactory,
)
from tests.workshops.factories import TicketTypeFactory, WorkshopSessionFactory
from workshops.models import (
    Certificate,
    InvoiceRequest,
    Order,
    SeatCode,
    SessionNotice,
    Ticket,
    WaitlistEntry,
)

SUBSCRIBER = "private-reader@leak.example"
BUYER = "private-buyer@leak.example"
ATTENDEE = "private-attendee@leak.example"
CERTIFIED = "private-certified@leak.example"
INQUIRER = "private-inquirer@leak.example"
WAITING = "private-waiting@leak.example"
INVOICED = "private-invoiced@leak.example"
ADDRESSES = (SUBSCRIBER, BUYER, ATTENDEE, CERTIFIED, INQUIRER, WAITING, INVOICED)


@pytest.fixture
def personal_records(home_page, workshop):
    """A subscriber with consent history and a failed delivery; an order and ticket."""
    deep_dives = MailingListFactory(name="Deep dives", double_opt_in=False)
    newsletter_services.subscriber_subscribe(
        email=SUBSCRIBER,
        name="Private Reader",
        mailing_lists=[deep_dives],
        consent_text="I agree.",
        origin=newsletter_services.Origin(source="footer"),
    )
    subscriber = Subscriber.objects.get(email=SUBSCRIBER)
    log(instance=subscriber, action="wagtail.edit")
    issue = NewsletterIssuePageFactory(
        parent=NewsletterArchivePageFactory(parent=home_page)
    )
    send = IssueSend.objects.create(
        issue=issue,
        issue_title=issue.title,
        mailing_list=deep_dives,
        list_name=deep_dives.name,
        scheduled_at=timezone.now(),
        status=SendStatus.FINISHED,
    )
    Delivery.objects.create(
        send=send,
        issue=issue,
        subscriber=subscriber,
        state=DeliveryState.FAILED,
        detail="Refused by the provider.",
    )
    Delivery.objects.create(
        send=send, issue=None, subscriber=subscriber, state=DeliveryState.UNCERTAIN
    )
    session = WorkshopSessionFactory(workshop=workshop)
    ticket_type = TicketTypeFactory(workshops=[workshop])
    order = Order.objects.create(
        session=session,
        ticket_type=ticket_type,
        quantity=1,
        unit_price=ticket_type.price,
        total=ticket_type.price,
        buyer_name="Private Buyer",
        buyer_email=BUYER,
        buyer_time_zone="Europe/Berlin",
        status="paid",
    )
    ticket = Ticket.objects.create(
        order=order,
        session=session,
        attendee_name="Private Attendee",
        attendee_email=ATTENDEE,
        status="valid",
    )
    log(instance=order, action="wagtail.edit")
    log(instance=ticket, action="wagtail.edit")
    certified = Ticket.objects.create(
        order=order,
        session=session,
        attendee_name="Private Certified",
        attendee_email=CERTIFIED,
        status="valid",
        attended=True,
    )
    certificate = Certificate.objects.create(ticket=certified, status="requested")
    log(instance=certificate, action="workshops.certificate.requested")
    group_training_request = GroupTrainingRequest.objects.create(
        organisation="Private Org",
        name="Private Inquirer",
        email=INQUIRER,
        months=["2030-01"],
        time_zones=["Europe/Oslo"],
        group_size=5,
    )
    contact_message = ContactMessage.objects.create(
        name="Private Inquirer", email=INQUIRER, message="Hello"
    )
    waiting = WaitlistEntry.objects.create(
        session=session, name="Private Waiting", email=WAITING
    )
    log(instance=waiting, action="workshops.waitlist.joined")
    notice = SessionNotice.objects.create(
        session=session,
        ticket=ticket,
        reason="moved_in",
        method="REQUEST",
        email=ATTENDEE,
        key="privacy-notice",
        state="failed",
    )
    invoice_request = InvoiceRequest.objects.create(
        organisation="Private Co",
        contact_name="Private Invoiced",
        email=INVOICED,
        seats=4,
        payment_method="check",
    )
    log(instance=invoice_request, action="workshops.invoicerequest.received")
    seat_code = SeatCode(
        seats=4,
        paid_on=timezone.localdate(),
        valid_until=timezone.localdate(),
        buyer_name="Private Invoiced",
        buyer_email=INVOICED,
        invoice_request=invoice_request,
    )
    seat_code.assign_code()
    seat_code.save()
    log(instance=seat_code, action="workshops.seatcode.issued")
    log(instance=group_training_request, action="inquiries.request.received")
    log(instance=contact_message, action="inquiries.message.received")
    return {
        "invoice_request": invoice_request,
        "seat_code": seat_code,
        "waiting": waiting,
        "notice": notice,
        "group_training_request": group_training_request,
        "contact_message": contact_message,
        "certificate": certificate,
        "session": session,
        "subscriber": subscriber,
        "consent": ConsentRecord.objects.filter(subscriber=subscriber).first(),
        "send": send,
        "delivery": send.deliveries.first(),
        "order": order,
        "ticket": ticket,
        "issue": issue,
    }


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    """Every named URL pattern under `resolver`, as (full name, converter names)."""
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = (
                f"{namespace}:{entry.namespace}".strip(":")
                if entry.namespace
                else namespace
            )
            yield from _patterns(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, prefix + str(entry.pattern)


def _admin_urls(records) -> set[str]:
    """Each admin URL, with every plausible filling of its arguments."""
    models = [
        "subscriber",
        "consentrecord",
        "delivery",
        "order",
        "ticket",
        "issuesend",
        "certificate",
    ]
    pks = {
        records[key].pk
        for key in ("subscriber", "order", "ticket", "send", "certificate", "session")
    }
    pks |= {records["consent"].pk, records["delivery"].pk, records["issue"].pk}
    pks |= {records[key].pk for key in ("group_training_request", "contact_message")}
    models += ["grouptrainingrequest", "contactmessage"]
    pks |= {records["waiting"].pk, records["notice"].pk}
    models += ["sessionnotice", "waitlistentry"]
    pks |= {records["invoice_request"].pk, records["seat_code"].pk}
    models += ["invoicerequest", "seatcode"]
    candidates = {
        "pk": pks,
        "id": pks,
        "object_id": pks,
        "page_id": {records["issue"].pk},
        "app_label": {"newsletter", "workshops", "inquiries"},
        "model_name": set(models),
        "action": {"delete", "resend-uncertain", "give-up-uncertain"},
        "action_type": {
            action.action_type
            for action in bulk_action_registry.actions.get("snippet", {}).values()
        }
        | {"delete"},
    }
    urls = set()
    for name, route in _patterns(get_resolver()):
        if "admin" not in route and not name.startswith("wagtail"):
            continue
        if "logout" in name:
            continue  # the rest of the walk needs the user signed in
        params = [part.split(">")[0].split(":")[-1] for part in route.split("<")[1:]]
        if any(param not in candidates for param in params):
            continue
        fillings = [{}]
        for param in params:
            fillings = [
                {**filling, param: value}
                for filling in fillings
                for value in candidates[param]
            ]
        for kwargs in fillings:
            try:
                urls.add(reverse(name, kwargs=kwargs))
            except NoReverseMatch:
                continue
    return urls


def _staff(django_user_model, home_page, group_name: str):
    user = django_user_model.objects.create_user(
        f"staff-{group_name.lower().replace(' ', '-')}",
        "staff@tidewell.example",
        "password",
    )
    group = Group.objects.get(name=group_name)
    user.groups.add(group)
    admin_access = Permission.objects.get(codename="access_admin")
    group.permissions.add(admin_access)
    GroupPagePermission.objects.get_or_create(
        group=group,
        page=home_page,
        permission=Permission.objects.get(codename="change_page"),
    )
    return user


@pytest.mark.parametrize("group_name", ["Editors", "Newsletter senders", "Moderators"])
def test_staff_who_may_not_see_people_see_no_address_anywhere_in_the_admin(
    client, django_user_model, home_page, personal_records, group_name
):
    client.force_login(_staff(django_user_model, home_page, group_name))
    # Some of Wagtail's own views fail on ids of another model; a 500 shows
    # nothing, which is all this test is about.
    client.raise_request_exception = False
    ids = "&".join(
        f"id={records.pk}"
        for records in (
            personal_records["subscriber"],
            personal_records["order"],
            personal_records["ticket"],
            personal_records["consent"],
            personal_records["delivery"],
            personal_records["group_training_request"],
            personal_records["contact_message"],
            personal_records["certificate"],
            personal_records["waiting"],
            personal_records["notice"],
            personal_records["invoice_request"],
            personal_records["seat_code"],
        )
    )
    urls = _admin_urls(personal_records)
    assert len(urls) > 100, "the walk should reach the snippet, chooser and bulk routes"

    leaks = []
    for url in sorted(urls):
        for query in ("", f"?q=leak&{ids}"):
            response = client.get(url + query)
            body = response.content.decode(errors="replace")
            found = [address for address in ADDRESSES if address in body]
            if found:
                leaks.append(f"{url}{query} ({response.status_code}): {found}")
    assert not leaks, "\n".join(leaks)
    assert client.get("/admin/").status_code == 200, "still signed in at the end"


def test_staff_who_may_see_people_still_find_them(
    client, django_user_model, personal_records
):
    """The same routes work for a superuser: the walk above could have seen them."""
    admin = django_user_model.objects.create_superuser(
        "boss", "boss@tidewell.example", "password"
    )
    client.force_login(admin)
    subscriber = personal_records["subscriber"]
    send = personal_records["send"]
    seen = {
        SUBSCRIBER: [
            "/admin/snippets/choose/newsletter/subscriber/results/",
            f"/admin/snippets/choose/newsletter/subscriber/chosen/{subscriber.pk}/",
            f"/admin/newsletter/sends/{send.pk}/",
        ],
        BUYER: [
            reverse("workshops_orders:inspect", args=[personal_records["order"].pk])
        ],
        ATTENDEE: [
            "/admin/workshops/tickets/",
            "/admin/workshops/notices/",
            reverse("workshops_notice_resend", args=[personal_records["notice"].pk]),
        ],
        WAITING: [
            "/admin/workshops/waiting-lists/",
            reverse(
                "workshops_waitlists:inspect", args=[personal_records["waiting"].pk]
            ),
        ],
        INQUIRER: [
            reverse(
                "inquiries_requests:inspect",
                args=[personal_records["group_training_request"].pk],
            ),
            "/admin/inquiries/messages/",
        ],
        INVOICED: [
            reverse(
                "workshops_invoice_requests:inspect",
                args=[personal_records["invoice_request"].pk],
            ),
            "/admin/workshops/seat-codes/",
            reverse(
                "workshops_seat_codes:inspect", args=[personal_records["seat_code"].pk]
            ),
        ],
        CERTIFIED: [
            "/admin/workshops/certificates/",
            reverse(
                "workshops_certificate_approve",
                args=[personal_records["certificate"].pk],
            ),
        ],
    }
    for address, urls in seen.items():
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert address in response.content.decode(), url
