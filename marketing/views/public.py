"""Pages for customers and website visitors: no login, no staff frame.

Every link here carries a signed token (marketing.tokens); a bad token is a 404 page, never a
hint about who is in the CRM.
"""

import base64

from csp.decorators import csp_replace
from django.conf import settings
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts.models import Person
from crm import ratelimit
from crm.clientip import client_ip
from marketing import services, tokens
from marketing.forms import PreferencesForm, PublicForm
from marketing.models import Consent, WebForm

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
FRAME = "marketing/public/base.html"


def _agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:300]


def _recipient(token: str) -> tuple[Person, int | None]:
    found = tokens.read_recipient_token(token)
    if found is None:
        raise Http404
    person = Person.objects.filter(pk=found[0]).first()
    if person is None:
        raise Http404
    return person, found[1]


def _link_rate_limit(scope: str, methods=("POST",)):
    """Link pages count per client and link: a mail provider posts the one-click unsubscribes of
    thousands of recipients from a few addresses."""
    return ratelimit.rate_limit(
        scope, limit="MARKETING_LINK_RATE_LIMIT", frame=FRAME, methods=methods, key=lambda request, token: token
    )


@csrf_exempt
@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})  # any customer's site may embed it; every other page: none
@require_http_methods(["GET", "POST"])
def form_public(request, key: str):
    """The public web form, also embedded by an iframe on the customer's site.

    Not protected by the CSRF cookie (cross-site iframes do not send it); instead every post
    carries a signed, time-limited form token issued with the page, the honeypot must be empty,
    and each client may post only MARKETING_FORM_RATE_LIMIT times in the window (crm.ratelimit).
    """
    web_form = get_object_or_404(WebForm, key=key, is_active=True)
    utm = {k: request.GET.get(k, request.POST.get(k, ""))[:200] for k in services.UTM_KEYS}
    if web_form.campaign_id and not utm["utm_campaign"]:
        utm["utm_campaign"] = web_form.campaign.code
    context = {"web_form": web_form, "utm": utm, "embed": request.GET.get("embed") == "1" or request.POST.get("embed") == "1"}
    if request.method == "POST":
        form = PublicForm(request.POST, web_form=web_form)
        if not tokens.form_token_valid(request.POST.get("form_token", ""), web_form.pk):
            form.is_valid()
            form.add_error(None, _("This form has expired. Please reload the page and send it again."))
        elif ratelimit.client_hit(request, "marketing-form", limit=settings.MARKETING_FORM_RATE_LIMIT, extra=str(web_form.pk)):
            return ratelimit.too_many_requests(request, frame=FRAME, context=context)
        elif form.is_valid():
            if form.cleaned_data.get("website"):
                # A bot filled the honeypot: thank it and store nothing.
                return render(request, "marketing/public/form_done.html", context)
            services.form_submit(
                form=web_form, data=form.cleaned_data, utm=utm, ip_address=client_ip(request), user_agent=_agent(request)
            )
            return render(request, "marketing/public/form_done.html", {**context, "newsletter": form.cleaned_data.get("newsletter")})
    else:
        form = PublicForm(web_form=web_form)
    return render(request, "marketing/public/form.html", {**context, "form": form, "form_token": tokens.form_token(web_form.pk)})


@_link_rate_limit("marketing-confirm", methods=None)  # a GET: the link in the email confirms
def consent_confirm(request, token: str):
    """The double opt-in link from the confirmation email."""
    consent = services.consent_confirm(token=token, ip_address=client_ip(request), user_agent=_agent(request))
    if consent is None:
        return render(request, "marketing/public/message.html", {
            "title": _("This link is not valid"),
            "text": _("The confirmation link is wrong or older than seven days. Please sign up again."),
        }, status=404)
    return render(request, "marketing/public/message.html", {
        "title": _("Thank you for confirming"),
        "text": _("You will now receive our newsletter. You can unsubscribe at any time with the link in every email."),
        "confirmed": consent.status == Consent.Status.GRANTED,
    })


@csrf_exempt
@require_http_methods(["GET", "POST"])
@_link_rate_limit("marketing-unsubscribe")
def unsubscribe(request, token: str):
    """RFC 8058 one-click unsubscribe: mail clients POST here without cookies or a CSRF token.

    GET shows a button (link scanners must not unsubscribe anyone); POST unsubscribes, idempotent.
    """
    person, campaign_id = _recipient(token)
    if request.method == "POST":
        services.unsubscribe(person=person, campaign_id=campaign_id, ip_address=client_ip(request), user_agent=_agent(request))
        return render(request, "marketing/public/message.html", {
            "title": _("You are unsubscribed"),
            "text": _("You will receive no more newsletters from us by email."),
            "preferences_token": token,
        })
    return render(request, "marketing/public/unsubscribe.html", {"token": token, "email": person.email})


@require_http_methods(["GET", "POST"])
@_link_rate_limit("marketing-preferences")
def preferences(request, token: str):
    """The preference centre: a recipient chooses what they want, without logging in."""
    person, campaign_id = _recipient(token)
    current = {
        (c.purpose, c.channel): c.status == Consent.Status.GRANTED for c in Consent.objects.filter(person=person)
    }
    initial = {name: current.get(key, False) for name, key in PreferencesForm.FIELDS.items()}
    saved = False
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            for name, (purpose, channel) in PreferencesForm.FIELDS.items():
                wanted = form.cleaned_data[name]
                if wanted != initial[name]:
                    services.consent_set(
                        person=person, purpose=purpose, channel=channel,
                        status=Consent.Status.GRANTED if wanted else Consent.Status.WITHDRAWN,
                        source=Consent.Source.PREFERENCES, ip_address=client_ip(request), user_agent=_agent(request),
                    )
            saved = True
    else:
        form = PreferencesForm(initial=initial)
    return render(request, "marketing/public/preferences.html", {"form": form, "saved": saved, "email": person.email})


def track_open(request, token: str):
    delivery_id = tokens.read_open_token(token)
    if delivery_id is not None:
        services.tracking_record_open(delivery_id=delivery_id)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


def track_click(request, token: str):
    """Redirects only to a link that was in the message of that delivery; anything else is 404."""
    found = tokens.read_click_token(token)
    url = services.tracking_record_click(delivery_id=found[0], link_index=found[1]) if found else None
    if url is None:
        raise Http404
    return HttpResponseRedirect(url)
