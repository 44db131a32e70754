"""Breadcrumbs: each view declares its trail once; the layout renders it.

A trail is a list of (label, url) pairs after "Home". The last step is the current
page and is shown without a link.
"""

from dataclasses import dataclass

from django.urls import reverse


@dataclass(frozen=True)
class Crumb:
    label: str
    url: str | None = None


def crumb(label, url_name: str | None = None, *args, url: str | None = None) -> Crumb:
    if url is None and url_name:
        url = reverse(url_name, args=args)
    return Crumb(label, url)


class BreadcrumbMixin:
    """Class-based views override `get_breadcrumbs()`; the result reaches the layout as `breadcrumbs`."""

    def get_breadcrumbs(self) -> list[Crumb]:
        return []

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("breadcrumbs", self.get_breadcrumbs())
        return context
