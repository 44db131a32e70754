"""The snippet a customer pastes into their own website cannot carry markup from the form's title."""

import html

from crm.roles import Role
from marketing.render import base_url
from marketing.tests.factories import WebFormFactory

HOSTILE = 'Kontakt" onload="alert(1)"></iframe><script>alert(2)</script>'


def test_the_title_cannot_break_out_of_the_iframe_attribute(db):
    snippet = WebFormFactory(title=HOSTILE).embed_snippet("https://crm.example.com")
    assert snippet.count("<iframe") == 1 and snippet.endswith('loading="lazy"></iframe>')
    assert "<script>" not in snippet and 'onload="' not in snippet
    assert 'title="Kontakt&quot; onload=&quot;alert(1)&quot;&gt;&lt;/iframe&gt;&lt;script&gt;' in snippet


def test_the_page_shows_the_escaped_snippet_to_copy(client, role_users):
    form = WebFormFactory(title=HOSTILE)
    client.force_login(role_users[Role.MARKETING])
    page = client.get(form.get_absolute_url()).content.decode()
    textarea = page.split('id="snippet"', 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    copied = html.unescape(textarea).strip()  # what the user copies out of the text area
    assert copied == form.embed_snippet(base_url())
    assert "<script>" not in copied
