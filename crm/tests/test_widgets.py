from django import forms

from crm.widgets import FastSelect, use_fast_selects


def test_fast_select_renders_like_django_and_escapes():
    choices = [("", "Alle"), ("a", "<b>A & B</b>"), ("Gruppe", [("x", "X"), ("y", "Y")])]
    fast = FastSelect(attrs={"class": "form-select"}, choices=choices).render("kind", "x")
    plain = forms.Select(attrs={"class": "form-select"}, choices=choices).render("kind", "x")
    assert "&lt;b&gt;A &amp; B&lt;/b&gt;" in fast and "<b>" not in fast
    assert '<optgroup label="Gruppe">' in fast and '<option value="x" selected>X</option>' in fast
    assert fast.startswith('<select name="kind" class="form-select">')
    # The same options in the same order as Django's own rendering.
    assert [line.strip() for line in plain.split("\n") if "<option" in line] == [
        part if part.endswith("</option>") else part
        for part in fast.replace("><", ">\n<").split("\n")
        if part.startswith("<option")
    ]


def test_use_fast_selects_keeps_choices_and_attributes():
    class Form(forms.Form):
        kind = forms.ChoiceField(choices=[("a", "A")], widget=forms.Select(attrs={"data-x": "1"}))
        many = forms.MultipleChoiceField(choices=[("a", "A")])

    form = Form()
    use_fast_selects(form)
    assert isinstance(form.fields["kind"].widget, FastSelect)
    assert not isinstance(form.fields["many"].widget, FastSelect)
    assert 'data-x="1"' in str(form["kind"])
