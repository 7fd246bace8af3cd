"""Template helpers of the sectioned admin site."""

from django import template
from django.urls import reverse
from django.utils.html import format_html

from kestra_iam.admin_site import section_of

register = template.Library()


@register.simple_tag
def section_crumb(opts) -> str:
    """The breadcrumb between Home and a model: its Kestra section, else its app."""
    section = section_of(opts)
    if section is not None:
        url = reverse("admin:section", kwargs={"slug": section.slug})
        return format_html('<a href="{}">{}</a>', url, section.name)
    url = reverse("admin:app_list", kwargs={"app_label": opts.app_label})
    return format_html('<a href="{}">{}</a>', url, opts.app_config.verbose_name)
