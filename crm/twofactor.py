"""Two-factor login with an authenticator app (TOTP, RFC 6238, via django-otp) plus ten one-time
backup codes. Whoever has a confirmed device must give a code at login; with
CRM_REQUIRE_2FA_FOR_ADMINS, admins must set one up before they can use the CRM."""

from io import BytesIO

import qrcode
import qrcode.image.svg
from django.db import transaction
from django_otp import devices_for_user, match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

BACKUP_CODES = 10
APP_DEVICE_NAME = "authenticator"


def is_enabled(user) -> bool:
    return any(True for _ in devices_for_user(user, confirmed=True))


def verify(user, token: str):
    """The device that accepts this code (app or backup code), or None. Backup codes work once."""
    token = "".join(token.split())
    return match_token(user, token) if token else None


def pending_app_device(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up (one per user, kept until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=APP_DEVICE_NAME).first()
    return device or TOTPDevice.objects.create(user=user, confirmed=False, name=APP_DEVICE_NAME)


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@transaction.atomic
def confirm(user, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirms the app if the code fits; returns the new backup codes (shown once), else None."""
    if not device.verify_token("".join(token.split())):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    StaticDevice.objects.filter(user=user).delete()
    backup = StaticDevice.objects.create(user=user, name="backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=backup, token=code) for code in codes])
    return codes


@transaction.atomic
def disable(user) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
