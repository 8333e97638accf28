"""The form renderer: Django's own Jinja2 widget templates (django/forms/jinja2), the same HTML
as its DTL ones at a fraction of the cost (a select or a radio list includes a template per
option: the Invite cocreator form's 80 includes took ~10 ms). A template that exists only for
Django's engine (the admin's widgets, admin/widgets/*.html) is rendered by that engine."""

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FormRenderer(BaseRenderer):
    def __init__(self):
        self.jinja2 = Jinja2()
        self.django = DjangoTemplates()

    def get_template(self, template_name):
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django.get_template(template_name)
