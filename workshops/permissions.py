"""Who may do what to sales records in the Wagtail admin."""

from wagtail.permission_policies import ModelPermissionPolicy


class SalesRecordPolicy(ModelPermissionPolicy):
    """Orders and tickets change only through the services: staff may look,
    and act through the cancel and move views, but not edit rows by hand."""

    def user_has_permission(self, user, action):
        if action in {"add", "change", "delete"}:
            return False
        return super().user_has_permission(user, action)
