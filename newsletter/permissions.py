"""Who may do what with subscribers and issues in the admin, by Django permission.

Sends have their own checks beside their views (`send_views.may_send`,
`send_views.may_view`).
"""

SEND_TEST_PERMISSION = "newsletter.send_test_issue"


def may_subscriber(user, action: str) -> bool:
    """Whether the user holds `newsletter.<action>_subscriber`."""
    return user.has_perm(f"newsletter.{action}_subscriber")


def may_see_growth(user) -> bool:
    """Anyone who may do anything with subscribers sees the dashboard's growth panel."""
    return any(
        may_subscriber(user, action) for action in ("view", "add", "change", "delete")
    )


def may_send_test(user) -> bool:
    return user.has_perm(SEND_TEST_PERMISSION)
