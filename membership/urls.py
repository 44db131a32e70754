from django.urls import path

from membership.views import members, types

app_name = "membership"

urlpatterns = [
    path("", members.MemberListView.as_view(), name="member_list"),
    path("new/", members.member_join, name="member_join"),
    path("<int:pk>/", members.MemberDetailView.as_view(), name="member_detail"),
    path("<int:pk>/history/", members.member_history, name="member_history"),
    path("<int:pk>/admit/", members.member_admit, name="member_admit"),
    path("<int:pk>/type/", members.member_change_type, name="member_change_type"),
    path("<int:pk>/resign/", members.member_resign, name="member_resign"),
    path("<int:pk>/end/", members.member_end, name="member_end"),
    path("types/", types.MembershipTypeListView.as_view(), name="type_list"),
    path("types/new/", types.MembershipTypeCreateView.as_view(), name="type_create"),
    path("types/<int:pk>/", types.MembershipTypeUpdateView.as_view(), name="type_update"),
    path("types/<int:pk>/history/", types.type_history, name="membershiptype_history"),
]
