from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm import customfields
from crm.models import CustomField
from crm.roles import Role

# Admins always see and change every field: they are not offered.
ROLE_CHOICES = [(value, label) for value, label in Role.choices if value != Role.ADMIN]
CHOICE_TYPES = (CustomField.Type.CHOICE, CustomField.Type.MULTIPLE_CHOICE)


class CustomFieldForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Choices"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a choice or multiple choice: one choice per line, in the order they are offered."),
    )
    default_text = forms.CharField(
        label=_("Default"), required=False, max_length=500,
        help_text=_("Filled in on new records. Yes/no: “ja” or “nein”; a date: 31.12.2026; several choices: one per line."),
        widget=forms.Textarea(attrs={"rows": 1}),
    )
    view_roles = forms.MultipleChoiceField(
        label=_("Roles that see it"), required=False, choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: everyone who may see the record. Admins always see it."),
    )
    edit_roles = forms.MultipleChoiceField(
        label=_("Roles that change it"), required=False, choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: everyone who sees it and may change the record. Admins always may."),
    )

    class Meta:
        model = CustomField
        fields = [
            "model", "label_de", "label_en", "key", "type", "required", "group", "order", "help_text_de", "help_text_en",
            "is_personal",
        ]

    field_order = [
        "model", "label_de", "label_en", "key", "type", "choices_text", "default_text", "required", "group", "order",
        "help_text_de", "help_text_en", "view_roles", "edit_roles", "is_personal",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        definition = self.instance
        if definition.pk:
            self.fields["choices_text"].initial = "\n".join(definition.choices)
            default = definition.default
            self.fields["default_text"].initial = "\n".join(default) if isinstance(default, list) else (
                "" if default is None else customfields.display(definition, default) if definition.type == "boolean"
                else str(default))
            self.fields["view_roles"].initial = definition.view_roles
            self.fields["edit_roles"].initial = definition.edit_roles
            count = definition.records().count()
            if count:
                for name in ("model", "key", "type"):
                    self.fields[name].help_text = _(
                        "%(count)s records hold a value: this cannot change any more.") % {"count": count}

    def clean_key(self):
        key = self.cleaned_data["key"].strip().lower()
        if not customfields.KEY_PATTERN.match(key):
            raise ValidationError(_("Start with a letter; then lower-case letters, digits and underscores (at most 50)."))
        return key

    def clean(self):
        cleaned = super().clean()
        definition = self.instance
        for name in ("model", "key", "type"):
            if name in cleaned:
                setattr(definition, name, cleaned[name])
        if not self.errors:
            try:
                customfields.definition_check_type_change(definition)
            except ValidationError as error:
                self.add_error("type", error)
        choices = list(dict.fromkeys(line.strip() for line in cleaned.get("choices_text", "").splitlines() if line.strip()))
        if cleaned.get("type") in CHOICE_TYPES:
            if not choices:
                self.add_error("choices_text", _("A choice needs at least one choice."))
            elif any(len(choice) > 100 for choice in choices) or len(choices) > 200:
                self.add_error("choices_text", _("At most 200 choices of at most 100 characters each."))
        else:
            choices = []
        definition.choices = choices
        definition.view_roles = cleaned.get("view_roles", [])
        definition.edit_roles = cleaned.get("edit_roles", [])
        text = cleaned.get("default_text", "").strip()
        definition.default = None
        if text and "type" in cleaned and not self.has_error("choices_text"):
            raw = [line for line in text.splitlines() if line.strip()] if cleaned["type"] == "multiple_choice" else text
            try:
                definition.default = customfields.clean_value(definition, raw)
            except ValidationError as error:
                self.add_error("default_text", error)
        return cleaned


class DeleteForm(forms.Form):
    confirm = forms.BooleanField(label=_("Yes, delete the field and its values"), required=True)
