from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from contacts.models import ImportJob
from contacts.services.importing import FULL_NAME, columns_for, inspect_upload, targets_for


class ImportUploadForm(forms.Form):
    target = forms.ChoiceField(label=gettext_lazy("Import into"), choices=(), widget=forms.RadioSelect)
    file = forms.FileField(
        label=gettext_lazy("CSV, Excel or vCard file"),
        help_text=gettext_lazy(
            "A .csv file of up to 50 MB with column names in the first line, saved from Excel or another CRM. "
            "UTF-8 and Windows-1252 (Excel) encodings and ; , or tab as delimiter are recognised, and so are the "
            "columns of exports from Outlook, Google Contacts, HubSpot, Pipedrive and Salesforce. "
            "Or an Excel workbook (.xlsx): its first sheet is read, with the column names in its first row. "
            "Or a .vcf file (vCard 2.1, 3.0 or 4.0) exported from a phone, Apple Contacts, Google Contacts or Outlook."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv,.xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,.vcf,text/vcard"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(ImportJob.Target.choices)
        # Only what the user may import into (leads: the roles that write sales records).
        self.fields["target"].choices = [(target.name, labels[target.name]) for target in targets_for(user)]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # The file's facts (encoding, delimiter, header) go along with it to the view.
        self.csv_info = inspect_upload(upload, name=upload.name, size=upload.size)
        return upload

    def clean(self):
        cleaned = super().clean()
        info = getattr(self, "csv_info", None)
        if info and info.file_format == ImportJob.Format.VCARD and cleaned.get("target") != ImportJob.Target.PEOPLE:
            self.add_error("target", _("A vCard file holds people: import it into People."))
        return cleaned


class ImportMappingForm(forms.Form):
    """One choice per CSV column: which CRM field it fills, or none."""

    def __init__(self, *args, job: ImportJob, samples: list[list[str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        self.columns = columns_for(job.target, job.created_by)
        choices = [("", _("— do not import —"))] + [(c.name, c.label) for c in self.columns]
        assigned = {index: name for name, index in job.mapping.items()}
        for index, header in enumerate(job.headers):
            examples = [row[index].strip() for row in samples if index < len(row) and row[index].strip()]
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("Column %(number)d (no name)") % {"number": index + 1},
                choices=choices,
                required=False,
                initial=assigned.get(index, ""),
                help_text=_("Examples: %(values)s") % {"values": " | ".join(v[:40] for v in examples)} if examples else "",
            )

    def clean(self):
        cleaned = super().clean()
        mapping: dict[str, int] = {}
        labels = {c.name: c.label for c in self.columns}
        for index in range(len(self.job.headers)):
            name = cleaned.get(f"column_{index}")
            if not name:
                continue
            if name in mapping:
                self.add_error(
                    f"column_{index}",
                    _("“%(field)s” is already filled from the column “%(other)s”.")
                    % {"field": labels[name], "other": self.job.headers[mapping[name]]},
                )
                continue
            mapping[name] = index
        for column in self.columns:
            # The names can come from a full-name column (the import splits it).
            from_full_name = column.name in ("first_name", "last_name") and FULL_NAME in mapping
            if column.required and column.name not in mapping and not from_full_name:
                raise forms.ValidationError(
                    _("Choose the column that holds “%(field)s”: it is required.") % {"field": column.label}
                )
        self.mapping = mapping
        return cleaned
