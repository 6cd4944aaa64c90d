"""An attendee downloads their certificate; staff record who came."""

import io
import re
from pathlib import Path

from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import assert_accessible, sign_in
from workshops.demo import DEMO_CERTIFICATE_CODE
from workshops.models import Certificate, CertificateStatus, Ticket


def test_an_attendee_downloads_their_certificate_and_anyone_can_check_it(
    page, demo_site
):
    zoe = Ticket.objects.get(attendee_name="Zoë Nguyễn")
    page.goto(f"/tickets/{zoe.token}/")
    expect(page.get_by_role("heading", name="Certificate")).to_be_visible()
    assert_accessible(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download certificate (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"certificate-{DEMO_CERTIFICATE_CODE}.pdf"
    data = Path(download.path()).read_bytes()
    text = PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Zoë Nguyễn" in text
    assert DEMO_CERTIFICATE_CODE in text

    page.get_by_role("link", name="its verification page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Valid certificate")
    expect(page.get_by_text("Zoë Nguyễn")).to_be_visible()
    assert_accessible(page)

    page.goto("/certificates/")
    page.get_by_label("Certificate code").fill(DEMO_CERTIFICATE_CODE.lower())
    page.get_by_role("button", name="Check").click()
    expect(page).to_have_url(re.compile(rf"/certificates/{DEMO_CERTIFICATE_CODE}/$"))
    expect(page.get_by_text("Zoë Nguyễn")).to_be_visible()


def test_an_attendee_requests_a_certificate(page, demo_site):
    lukasz = Ticket.objects.get(attendee_name="Łukasz Wójcik")
    page.goto(f"/tickets/{lukasz.token}/")
    page.get_by_role("button", name="Request a certificate").click()
    expect(page.get_by_text("Your request is in")).to_be_visible()
    assert_accessible(page)
    assert Certificate.objects.get(ticket=lukasz).status == CertificateStatus.REQUESTED


def test_staff_mark_attendance_after_a_session(page, demo_site, django_user_model):
    sign_in(page, django_user_model)
    page.get_by_role("link", name=re.compile("^Record attendance for")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Attendance")
    aroha = page.get_by_label(re.compile("Aroha Te Rangi"))
    expect(aroha).to_be_checked()
    aroha.uncheck()
    page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_text("Attendance saved: 2 present, 2 absent.")).to_be_visible()
    assert Ticket.objects.get(attendee_name="Aroha Te Rangi").attended is False
    assert Ticket.objects.get(attendee_name="Zoë Nguyễn").attended is True
