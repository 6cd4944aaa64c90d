"""Who may do what with subscribers, issues and sends in the admin."""

SEND_TEST_PERMISSION = "newsletter.send_test_issue"
SEND_PERMISSION = "newsletter.send_issue"
VIEW_SEND_PERMISSIONS = ("newsletter.view_issuesend", SEND_PERMISSION)


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


def may_send(user) -> bool:
    """Whether the user may send an issue to a list (the Newsletter senders group)."""
    return user.has_perm(SEND_PERMISSION)


def may_view(user) -> bool:
    """Whether the user may see sends and their progress."""
    return any(user.has_perm(permission) for permission in VIEW_SEND_PERMISSIONS)
