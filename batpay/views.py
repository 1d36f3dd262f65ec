from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.http import HttpRequest
from django.utils import timezone
from django.views.defaults import page_not_found, server_error
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from knox.models import AuthToken
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from batpay.auth import BearerTokenAuthentication
from batpay.errors import api_not_found, api_server_error
from batpay.login_guard import LoginLocked, lockout_seconds
from batpay.schema import ErrorSerializer

ERROR = ErrorSerializer


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=1024, trim_whitespace=False, style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Bearer <token>`; it is shown only once.")
    expires = serializers.DateTimeField(help_text="When the token stops working (API_TOKEN_TTL_HOURS after issue).")


class ObtainTokenView(APIView):
    """POST {username, password} → {"token", "expires"}; DELETE revokes the token that authenticated
    the request. Logins go through the login guard (batpay.login_guard; docs/rules.md, "Logins and tokens")."""

    authentication_classes = [BearerTokenAuthentication]

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if request.method == "POST":
            # A login needs no credentials: a stale token left in the header must not stop it.
            drf_request.authenticators = ()
        return drf_request

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    @extend_schema(
        operation_id="auth_token_create",
        summary="Log in: a token for the API",
        description="A new token for `Authorization: Bearer <token>`, valid until `expires`. Failed logins are "
        "counted per username and client address: after LOGIN_FAILURE_LIMIT (10) of them, each less than "
        "LOGIN_COOLOFF_MINUTES (15) after the one before, that pair is refused (429) until the cool-off has passed "
        "since the last one.",
        request=LoginSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(ERROR, description="Wrong username or password (or a field missing)."),
            429: OpenApiResponse(
                ERROR,
                description="Too many failed logins for this username from this address: refused, even with the "
                "right password, until the cool-off ends (`Retry-After`, seconds).",
            ),
        },
        auth=[],
    )
    def post(self, request):
        login = LoginSerializer(data=request.data)
        login.is_valid(raise_exception=True)
        # The DRF request carries the login guard's marks (axes_*) for this view alone.
        user = authenticate(request, **login.validated_data)
        if getattr(request, "axes_locked_out", False):
            raise LoginLocked(wait=lockout_seconds(request, getattr(request, "axes_credentials", None)))
        if user is None:
            raise serializers.ValidationError({"non_field_errors": ["Unable to log in with provided credentials."]})
        AuthToken.objects.filter(expiry__lt=timezone.now()).delete()  # everybody's expired tokens go
        instance, token = AuthToken.objects.create(user=user)
        # Sets last_login, and clears the user's failed attempts from this address.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        return Response(TokenSerializer({"token": token, "expires": instance.expiry}).data)

    @extend_schema(
        operation_id="auth_token_destroy",
        summary="Log out: revoke the token this request was sent with",
        description="The token is deleted: any later request with it is a 401. The user's other tokens stay valid.",
        request=None,
        responses={
            204: OpenApiResponse(description="Revoked: the token is refused from now on."),
            401: OpenApiResponse(ERROR, description="No token, or one unknown, expired or already revoked."),
        },
    )
    def delete(self, request):
        request.auth.delete()
        user_logged_out.send(sender=request.user.__class__, request=request, user=request.user)
        return Response(status=204)


class JsonErrors:
    """For a view whose answer is not JSON (the schema in YAML, the docs page): its errors still are,
    in the error shape."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return response


class SchemaView(JsonErrors, SpectacularAPIView):
    pass


class DocsView(JsonErrors, SpectacularSwaggerView):
    pass


def not_found(request: HttpRequest, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request, exception)
    return page_not_found(request, exception)


def error(request: HttpRequest):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return server_error(request)


def _own_export(request, export_id):
    from batpay.errors import NotFound
    from batpay.models import ExportFile

    job = ExportFile.objects.filter(pk=export_id, created_by=request.user).first()
    if job is None:
        raise NotFound(f"No export {export_id}.")  # another user's export is not even said to exist
    return job


class ExportFileView(APIView):
    """GET: a long export's job (started by a list's …/export with 202) — its status, and once it is
    ready, `download_url`. Only the user who asked for the export sees it."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(description="The export's status and download link.")})
    def get(self, request, export_id):
        from batpay.export_jobs import job_payload

        return Response(job_payload(_own_export(request, export_id), request))


class ExportDownloadView(APIView):
    """GET: the file of a finished export (404 until it is ready, and for any other user)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: OpenApiResponse(description="The file.")})
    def get(self, request, export_id):
        from django.http import FileResponse

        from batpay.errors import NotFound
        from batpay.export_jobs import job_file
        from batpay.exports import FORMATS

        job = _own_export(request, export_id)
        path = job_file(job)
        if path is None:
            raise NotFound(f"Export {export_id} is {job.get_status_display().lower()}, not ready to download.")
        return FileResponse(open(path, "rb"), as_attachment=True, filename=job.filename, content_type=FORMATS[job.fmt])
