"""System checks: production warns when the proxy count leaves every visitor alike."""

import pytest
from django.core.checks import WARNING, run_checks


@pytest.mark.parametrize(
    ("debug", "proxies", "warned"),
    [(False, 0, True), (False, 1, False), (False, 2, False), (True, 0, False)],
)
def test_a_site_without_debug_must_say_how_many_proxies_it_has(
    settings, debug, proxies, warned
):
    settings.DEBUG = debug
    settings.TRUSTED_PROXY_COUNT = proxies
    found = [m for m in run_checks() if m.id == "home.W001"]
    assert bool(found) is warned
    if warned:
        [message] = found
        assert message.level == WARNING
        assert "1 on Heroku" in message.hint
