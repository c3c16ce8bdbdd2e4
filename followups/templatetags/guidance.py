"""Template tags of the patient's guidance: findings named in one sentence, in its language.

``{% render_each "template" items as parts %}`` renders a template once for
each item (as ``item``): the phrase for each finding code, from the template
that holds the words. ``parts|listed`` writes them as "a, b and c" in the
active language (``core.lists``); ``words|quoted`` puts each of the patient's
own words between the language's quotation marks.
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import pgettext

from core.lists import listed as listed_words

register = template.Library()


@register.simple_tag(takes_context=True)
def render_each(context, template_name: str, items: Iterable[object]) -> list[SafeString]:
    """``template_name`` rendered for each of ``items``, as ``item``: one string each."""
    part = context.template.engine.get_template(template_name)
    rendered = []
    for item in items:
        with context.push(item=item):
            rendered.append(mark_safe(part.render(context).strip()))  # rendered, so escaped
    return rendered


@register.filter
def quoted(words: Iterable[object]) -> list[SafeString]:
    """Each of the patient's words, escaped, between the active language's quotation marks."""
    # Translators: a word or phrase the patient wrote, quoted back to them on their page.
    quote = pgettext("a word of the patient's message, quoted on their page", "“{word}”")
    return [mark_safe(quote.format(word=conditional_escape(str(word)))) for word in words]


@register.filter
def listed(items: Iterable[str]) -> SafeString:
    """``a, b and c``, each item escaped unless it is already safe."""
    return mark_safe(listed_words([str(conditional_escape(item)) for item in items]))
