from django.urls import path

from contacts.views import activities, attachments, duplicates, exports, imports, organizations, people, privacy

app_name = "contacts"

urlpatterns = [
    path("organizations/", organizations.OrganizationListView.as_view(), name="organization_list"),
    path("organizations/new/", organizations.OrganizationCreateView.as_view(), name="organization_create"),
    path("organizations/<int:pk>/", organizations.OrganizationDetailView.as_view(), name="organization_detail"),
    path("organizations/<int:pk>/edit/", organizations.OrganizationUpdateView.as_view(), name="organization_update"),
    path("organizations/<int:pk>/delete/", organizations.OrganizationDeleteView.as_view(), name="organization_delete"),
    path("organizations/<int:pk>/history/", organizations.organization_history, name="organization_history"),
    path("organizations/export/", exports.organization_export, name="organization_export"),
    path("organizations/autocomplete/", organizations.organization_autocomplete, name="organization_autocomplete"),
    path("people/", people.PersonListView.as_view(), name="person_list"),
    path("people/new/", people.PersonCreateView.as_view(), name="person_create"),
    path("people/<int:pk>/", people.PersonDetailView.as_view(), name="person_detail"),
    path("people/<int:pk>/edit/", people.PersonUpdateView.as_view(), name="person_update"),
    path("people/<int:pk>/delete/", people.PersonDeleteView.as_view(), name="person_delete"),
    path("people/<int:pk>/history/", people.person_history, name="person_history"),
    path("people/export/", exports.person_export, name="person_export"),
    path("people/<int:pk>/data-export/", privacy.person_data_export, name="person_data_export"),
    path("people/<int:pk>/erase/", privacy.person_erase, name="person_erase"),
    path("timeline/", activities.timeline, name="timeline"),
    path("activities/new/", activities.activity_create, name="activity_create"),
    path("activities/<int:pk>/done/", activities.activity_toggle_done, name="activity_toggle_done"),
    path("activities/<int:pk>/delete/", activities.activity_delete, name="activity_delete"),
    path("tasks/", activities.TaskListView.as_view(), name="task_list"),
    path("attachments/new/", attachments.attachment_upload, name="attachment_upload"),
    path("attachments/<int:pk>/", attachments.attachment_download, name="attachment_download"),
    path("attachments/<int:pk>/delete/", attachments.attachment_delete, name="attachment_delete"),
    path("duplicates/", duplicates.duplicate_list, name="duplicate_list"),
    path("duplicates/people/<int:pk>/<int:other_pk>/", duplicates.person_merge, name="person_merge"),
    path("duplicates/organizations/<int:pk>/<int:other_pk>/", duplicates.organization_merge, name="organization_merge"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/new/", imports.import_upload, name="import_upload"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/mapping/", imports.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/preview/", imports.import_preview, name="import_preview"),
    path("imports/<int:pk>/progress/", imports.import_progress, name="import_progress"),
]
