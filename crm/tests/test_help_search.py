"""The help index finds pages by several words, in their text as well as their titles."""

from django.urls import reverse
from django.utils import translation

from crm import help as crm_help


def _ids(query, language="de"):
    return [page.page_id for page in crm_help.search_pages(query, language)]


def test_two_words_find_the_pages_that_hold_both_first():
    found = _ids("Gebiet zuweisen")
    assert found, "“Gebiet zuweisen” found nothing"
    # Both words (Gebiet … zuweisen) stand in the deal list's help; the territory page only has "Gebiet".
    assert "sales:deal_list" in found[:3]
    assert "sales:territory_list" in found


def test_words_are_found_in_the_text_not_only_the_title():
    page = crm_help.get_page("sales:territory_list", "de")
    assert "reihum" in page.body_markdown and "reihum" not in page.title.lower()
    assert "sales:territory_list" in _ids("reihum")


def test_word_forms_and_umlaut_spellings_find_each_other():
    assert "sales:territory_list" in _ids("Gebiete")  # plural
    assert set(_ids("Zuweisung")) >= {"sales:deal_list", "sales:lead_list"}  # noun for "zuweisen"
    assert "service:ticket_update" in _ids("Maßnahmen")
    assert _ids("Maßnahmen") == _ids("massnahmen")
    assert "service:ticket_update" in _ids("entschaedigung")  # ä typed as ae
    assert _ids("entschaedigung") == _ids("Entschädigung")


def test_pages_with_every_word_come_before_pages_with_some():
    hits = crm_help.find_pages("Gebiet zuweisen", "de")
    holds_both = [("gebiet" in h.page.body_markdown.lower() and "zuweis" in h.page.body_markdown.lower()) for h in hits]
    assert holds_both[0] and False in holds_both
    assert holds_both == sorted(holds_both, reverse=True)


def test_a_word_that_is_nowhere_finds_nothing_and_an_empty_query_lists_all():
    assert _ids("Quarkstrudel") == []
    assert len(_ids("")) == len(crm_help.all_pages("de"))


def test_the_index_shows_why_a_page_came_up(client):
    with translation.override("de"):
        html = client.get(reverse("help_index"), {"q": "reihum"}, HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Gebiete" in html and "(nach Priorität), reihum; Zuletzt zugewiesen" in html
