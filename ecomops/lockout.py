"""What a locked-out login sees (django-axes' AXES_LOCKOUT_CALLABLE), on the dashboard form and on the API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKOUT_CODE = "login_locked_out"


def login_lockout_message() -> str:
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    return (f"Too many failed log-in attempts for this account or from your network. Log-in is locked for "
            f"{minutes} minutes; try again later or ask an administrator to unlock it.")


def login_lockout_response(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """429 Too Many Requests: JSON under /api/, otherwise the login form with the reason."""
    status = settings.AXES_HTTP_RESPONSE_CODE
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": login_lockout_message(), "code": LOCKOUT_CODE}, status=status)
    next_url = request.POST.get("next", "") if request.method == "POST" else ""
    return render(request, "registration/login.html", {"lockout_message": login_lockout_message(), "next": next_url},
                  status=status)
