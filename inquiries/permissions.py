"""Who may do what with inquiries in the admin.

Inquiries hold names and addresses: only superusers and the Sales group (given
the permissions by migration 0002) see them. Nobody adds one by hand: they come
from the public forms.
"""

from wagtail.permission_policies import ModelPermissionPolicy


class InquiryPolicy(ModelPermissionPolicy):
    """Inquiries arrive from the site; staff look, annotate, change the status."""

    def user_has_permission(self, user, action):
        if action == "add":
            return False
        return super().user_has_permission(user, action)


def may_view_requests(user) -> bool:
    return user.has_perm("inquiries.view_grouptrainingrequest")


def may_change_requests(user) -> bool:
    return user.has_perm("inquiries.change_grouptrainingrequest")
