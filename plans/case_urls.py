from django.urls import re_path

from plans.case_api import CaseView

urlpatterns = [re_path(r"^(?P<case_no>[A-Z]+-[0-9]{4}-[0-9]+)/?$", CaseView.as_view(), name="case")]
