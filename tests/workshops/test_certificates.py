"""Certificates: only for attendees of a completed session, once each, checkable."""

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from wagtail.models import ModelLogEntry, Site

from tests.workshops.factories import make_paid_ticket
from workshops import services
from workshops.certificate_pdf import certificate_pdf
from workshops.models import (
    Certificate,
    CertificateSettings,
    CertificateStatus,
    Ticket,
    TicketStatus,
    new_certificate_code,
    normalise_code,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def zoe(past_session):
    return make_paid_ticket(
        past_session, "Zoë Nguyễn", "zoe@example.com", attended=True
    )


@pytest.fixture
def auto_approve(home_page):
    wording = CertificateSettings.for_site(Site.objects.get(is_default_site=True))
    wording.approve_automatically = True
    wording.signatory_name = "Łucja Brzęczyszczykiewicz"
    wording.save()


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def issued(ticket: Ticket, commit, run_tasks) -> Certificate:
    with commit():
        certificate = services.certificate_request(ticket_id=ticket.pk)
        services.certificate_approve(certificate_id=certificate.pk)
    with commit():
        run_tasks()
    certificate.refresh_from_db()
    return certificate


def test_the_pdf_holds_the_name_workshop_date_hours_and_code(zoe, commit, run_tasks):
    certificate = issued(zoe, commit, run_tasks)
    data = certificate_pdf(services.certificate_content(certificate))
    text = pdf_text(data)
    assert "Zoë Nguyễn" in text
    assert "Responding to Reports" in text
    assert f"{zoe.session.date:%-d %B %Y}" in text
    assert "3.5 hours" in text
    assert certificate.code in text
    assert f"http://testserver/certificates/{certificate.code}/" in text
    assert "Harbour Test Training" in text


def test_the_pdf_opens_in_poppler(zoe, commit, run_tasks, tmp_path):
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "bin/test installs poppler-utils"
    certificate = issued(zoe, commit, run_tasks)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(services.certificate_content(certificate)))
    result = subprocess.run(
        [pdftoppm, "-png", "-r", "30", str(path), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert (tmp_path / "page-1.png").stat().st_size > 1000


def test_an_approved_certificate_is_emailed_with_its_pdf(
    zoe, commit, run_tasks, mailoutbox
):
    certificate = issued(zoe, commit, run_tasks)
    assert certificate.status == CertificateStatus.ISSUED
    [message] = mailoutbox
    assert message.to == ["zoe@example.com"]
    assert message.subject == "Your certificate: Responding to Reports"
    assert f"http://testserver/certificates/{certificate.code}/" in message.body
    [(filename, content, mimetype)] = message.attachments
    assert (filename, mimetype) == (
        f"certificate-{certificate.code}.pdf",
        "application/pdf",
    )
    assert "Zoë Nguyễn" in pdf_text(content)
    # The task running again sends nothing more.
    with commit():
        services.certificate_send(certificate_id=certificate.pk)
    assert len(mailoutbox) == 1


def test_requesting_twice_gives_one_certificate(client, zoe, commit):
    with commit():
        for _ in range(2):
            response = client.post(f"/tickets/{zoe.token}/certificate/")
            assert response.status_code == 302
    assert Certificate.objects.filter(ticket=zoe).count() == 1
    page = client.get(f"/tickets/{zoe.token}/").content.decode()
    assert "Once our team approves it" in page
    assert services.certificate_request(ticket_id=zoe.pk) == Certificate.objects.get()


def test_with_automatic_approval_the_holder_downloads_it_at_once(
    client, zoe, auto_approve, commit, run_tasks, mailoutbox
):
    page = client.get(f"/tickets/{zoe.token}/")
    assert "Request a certificate" in page.content.decode()
    with commit():
        client.post(f"/tickets/{zoe.token}/certificate/")
    certificate = Certificate.objects.get()
    assert certificate.status == CertificateStatus.ISSUED
    with commit():
        run_tasks()
    assert len(mailoutbox) == 1
    page = client.get(f"/tickets/{zoe.token}/").content.decode()
    assert "Download certificate (PDF)" in page
    download = client.get(f"/tickets/{zoe.token}/certificate.pdf")
    assert download["Content-Type"] == "application/pdf"
    assert "Łucja Brzęczyszczykiewicz" in pdf_text(download.content)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"attended": False}, "does not show this attendee"),
        ({"attended": None}, "Attendance for this session is not recorded yet"),
        ({"status": TicketStatus.CANCELLED}, "This ticket is cancelled"),
    ],
)
def test_only_attended_valid_tickets_get_one(
    client, zoe, auto_approve, change, message
):
    Ticket.objects.filter(pk=zoe.pk).update(**change)
    with pytest.raises(services.CertificateError, match=message):
        services.certificate_request(ticket_id=zoe.pk)
    client.post(f"/tickets/{zoe.token}/certificate/")
    assert not Certificate.objects.exists()


def test_a_session_not_yet_ended_gives_no_certificate(client, session, auto_approve):
    ticket = make_paid_ticket(session, "Early Bird", "early@example.com", attended=True)
    with pytest.raises(services.CertificateError, match="completed sessions"):
        services.certificate_request(ticket_id=ticket.pk)
    response = client.post(f"/tickets/{ticket.token}/certificate/", follow=True)
    assert "Certificates are for completed sessions" in response.content.decode()
    assert "Request a certificate" not in response.content.decode()
    assert not Certificate.objects.exists()


def test_staff_issue_certificates_for_a_session_in_bulk(
    client, sales_user, past_session, zoe, commit, run_tasks, mailoutbox
):
    absent = make_paid_ticket(past_session, "Ana", "ana@example.com", attended=False)
    requested = make_paid_ticket(
        past_session, "Łukasz Wójcik", "lukasz@example.com", attended=True
    )
    services.certificate_request(ticket_id=requested.pk)
    client.force_login(sales_user)
    url = f"/admin/workshops/sessions/{past_session.pk}/certificates/"
    with commit():
        client.post(url)
    with commit():
        run_tasks()
    assert set(
        Certificate.objects.filter(status=CertificateStatus.ISSUED).values_list(
            "ticket__attendee_name", flat=True
        )
    ) == {"Zoë Nguyễn", "Łukasz Wójcik"}
    assert not Certificate.objects.filter(ticket=absent).exists()
    assert sorted(message.to[0] for message in mailoutbox) == [
        "lukasz@example.com",
        "zoe@example.com",
    ]
    with commit():
        client.post(url)
    with commit():
        run_tasks()
    assert len(mailoutbox) == 2


def test_verification_of_a_valid_code_shows_name_workshop_and_date_only(
    client, zoe, commit, run_tasks
):
    certificate = issued(zoe, commit, run_tasks)
    page = client.get(f"/certificates/{certificate.code}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Valid certificate" in body
    assert "Zoë Nguyễn" in body
    assert "Responding to Reports" in body
    assert f"{zoe.session.date:%-d %B %Y}" in body
    assert "zoe@example.com" not in body
    assert zoe.order.reference not in body
    # Typed in lower case with spaces: the same certificate.
    typed = certificate.code.lower().replace("-", " ")
    response = client.get("/certificates/", {"code": typed}, follow=True)
    assert response.redirect_chain[-1][0] == f"/certificates/{certificate.code}/"
    assert "Zoë Nguyễn" in response.content.decode()


def test_verification_of_unknown_and_revoked_codes(
    client, zoe, sales_user, commit, run_tasks
):
    certificate = issued(zoe, commit, run_tasks)
    unknown = client.get("/certificates/ABCD-EFGH-JKMN-PQRS-TUVW/")
    assert unknown.status_code == 404
    assert "No certificate has the code" in unknown.content.decode()
    assert client.get("/certificates/not-a-code/").status_code == 404

    client.force_login(sales_user)
    client.post(
        f"/admin/workshops/certificates/{certificate.pk}/revoke/",
        {"reason": "Attended another session"},
    )
    client.logout()
    revoked = client.get(f"/certificates/{certificate.code}/")
    assert revoked.status_code == 410
    body = revoked.content.decode()
    assert "has been revoked" in body
    assert "Zoë" not in body and "Responding" not in body
    entry = ModelLogEntry.objects.get(action="workshops.certificate.revoked")
    assert entry.user_id == sales_user.pk
    assert entry.data["reason"] == "Attended another session"
    with pytest.raises(services.CertificateError, match="revoked"):
        services.certificate_request(ticket_id=zoe.pk)


def test_a_request_awaiting_approval_is_not_yet_valid(client, zoe):
    certificate = services.certificate_request(ticket_id=zoe.pk)
    assert client.get(f"/certificates/{certificate.code}/").status_code == 404


def test_lookups_are_rate_limited_per_client(client):
    statuses = {
        client.get("/certificates/ABCD-EFGH-JKMN-PQRS-TUVW/").status_code
        for _ in range(31)
    }
    assert statuses == {404, 429}
    assert "too many codes" in client.get("/certificates/x/").content.decode()


def test_codes_are_long_and_read_aloud_safely():
    codes = {new_certificate_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        groups = code.split("-")
        assert [len(group) for group in groups] == [4, 4, 4, 4, 4]
        assert not set(code) & set("01OIL")
    assert normalise_code(" abcd efgh-jkmn pqrs tuvw ") == "ABCD-EFGH-JKMN-PQRS-TUVW"
    assert normalise_code("ABCD-EFGH-JKMN-PQRS-TUV0") is None


def test_staff_approve_a_request_from_the_admin(
    client, sales_user, zoe, commit, run_tasks, mailoutbox
):
    certificate = services.certificate_request(ticket_id=zoe.pk)
    client.force_login(sales_user)
    listing = client.get("/admin/workshops/certificates/?status=requested")
    assert "zoe@example.com" in listing.content.decode()
    inspect = client.get(f"/admin/workshops/certificates/inspect/{certificate.pk}/")
    assert f"/admin/workshops/certificates/{certificate.pk}/approve/" in inspect.text
    with commit():
        client.post(f"/admin/workshops/certificates/{certificate.pk}/approve/")
    with commit():
        run_tasks()
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.ISSUED
    assert len(mailoutbox) == 1
    pdf = client.get(f"/admin/workshops/certificates/{certificate.pk}/pdf/")
    assert "Zoë Nguyễn" in pdf_text(pdf.content)


def test_editors_cannot_see_certificates(client, editor_user, zoe, commit, run_tasks):
    certificate = issued(zoe, commit, run_tasks)
    client.force_login(editor_user)
    for url in (
        "/admin/workshops/certificates/",
        f"/admin/workshops/certificates/inspect/{certificate.pk}/",
        f"/admin/workshops/certificates/{certificate.pk}/pdf/",
        f"/admin/workshops/certificates/{certificate.pk}/approve/",
    ):
        response = client.get(url)
        assert response.status_code in {302, 403}, url
        assert "Zoë" not in response.content.decode(), url
    response = client.post(
        f"/admin/workshops/certificates/{certificate.pk}/revoke/", {"reason": "x"}
    )
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.ISSUED
    # Their own part: the wording.
    assert client.get("/admin/settings/workshops/certificatesettings/").status_code in {
        200,
        302,
    }
