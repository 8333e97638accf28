"""No untranslated or fuzzy entry ships: every string of every template and Python module is in
the pt-BR and es catalogs, translated, with the same placeholders as the English."""

import pytest
from django.utils import translation

from config.i18n import CATALOG_LOCALES, extract, problems


@pytest.fixture(scope="module")
def template():
    return extract()


def test_the_extraction_reads_templates_and_python(template):
    ids = {message.id for message in template}
    assert "Invite cocreator" in ids  # a template
    assert "Change History" in ids
    assert any(isinstance(i, tuple) for i in ids)  # plurals
    assert "Resend invitation" in ids  # only in a Jinja2 fragment (config/jinja.py)
    assert "by %(email)s" in ids


@pytest.mark.parametrize("locale", CATALOG_LOCALES)
def test_every_string_is_translated_and_none_is_fuzzy(template, locale):
    assert problems(locale, template=template) == []


@pytest.mark.parametrize(
    ("language", "english", "translated"),
    [
        ("pt-br", "Invite cocreator", "Convidar coprodutor"),
        ("pt-br", "I am a cocreator", "Sou coprodutor"),
        ("pt-br", "Change History", "Histórico de alterações"),
        ("es", "Invite cocreator", "Invitar coproductor"),
    ],
)
def test_the_compiled_catalogs_are_the_ones_django_reads(language, english, translated):
    with translation.override(language):
        assert translation.gettext(english) == translated
