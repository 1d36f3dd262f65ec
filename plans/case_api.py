"""GET|POST /api/cases/{case_no}: a guided-entry case's state, and submitting its current step.

Cases of every flow share this endpoint; who may read or submit one is the flow's business
(`CaseFlow.view_permissions` / `permissions`), so the check is made per case.
"""

from django.core.serializers.json import DjangoJSONEncoder
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from plans.cases import case_get, case_state, case_submit, get_flow


class CaseStepSerializer(serializers.Serializer):
    step_id = serializers.CharField(max_length=64)
    # The body's numbers with a fraction arrive as Decimal (DecimalJSONParser); the encoder lets
    # the field accept them instead of calling 10.5 "not valid JSON".
    data = serializers.JSONField(encoder=DjangoJSONEncoder)


class CaseView(APIView):
    permission_classes = [IsAuthenticated]
    serializer_class = CaseStepSerializer

    def _check(self, request, case_no: str, *, write: bool):
        case = case_get(case_no=case_no)
        flow = get_flow(case.flow)
        needed = flow.permissions if write else flow.view_permissions
        if not request.user.has_perms(needed):
            raise PermissionDenied("Your role does not allow this.")
        return case

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, case_no: str):
        return Response(case_state(self._check(request, case_no, write=False)))

    @extend_schema(request=CaseStepSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, case_no: str):
        self._check(request, case_no, write=True)
        serializer = CaseStepSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = case_submit(
            case_no=case_no,
            step_id=serializer.validated_data["step_id"],
            data=serializer.validated_data["data"],
            actor=request.user,
        )
        return Response(case_state(case))
