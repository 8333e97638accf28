"""The admin site: one "Accounts" section. allauth's app (email addresses) and ours (users,
validations) are both called Accounts; the index lists them as one."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

# (the app whose section stays, the app merged into it)
MERGED_SECTIONS = [("accounts", "account")]


class CoprodAdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        by_label = {app["app_label"]: app for app in apps}
        for keep, merge in MERGED_SECTIONS:
            if keep in by_label and merge in by_label:
                kept = by_label[keep]
                kept["models"] = sorted(
                    kept["models"] + by_label[merge]["models"], key=lambda model: model["name"]
                )
                apps.remove(by_label[merge])
        return apps


class CoprodAdminConfig(AdminConfig):
    default_site = "config.admin_site.CoprodAdminSite"
