"""What a dashboard page shows for its charts."""


def assert_charts(html: str, ids) -> list[str]:
    """Each chart is drawn or, without figures, says so instead of an empty grid; at least one is
    drawn. Returns the drawn ones."""
    drawn = [chart_id for chart_id in ids if f'data-chart="{chart_id}"' in html]
    assert drawn, "no chart drawn"
    empty = html.count("No figures for this selection.") + html.count("Keine Zahlen für diese Auswahl.")
    assert empty >= len(ids) - len(drawn), (set(ids) - set(drawn), empty)
    return drawn
