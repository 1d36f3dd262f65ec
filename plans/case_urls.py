from django.urls import re_path

from batpay.api import either_slash
from plans.case_api import CaseView

urlpatterns = either_slash([re_path(r"^(?P<case_no>[A-Z]+-[0-9]{4}-[0-9]+)/$", CaseView.as_view(), name="case")])
