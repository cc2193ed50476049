"""Notices (通知): every person's list, marked read one by one or all at once, and which kinds
they also want by e-mail. A person sees only their own notices of the school they act in."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts import notices
from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Notice, NoticeKind
from portfolio.forms import Form
from portfolio.lib.numbers import parse_id

PER_PAGE = 30


@acting_required()
def index(request: ActingRequest) -> HttpResponse:
    """GET: the person's notices, newest first; POST: mark one (``notice``) or all read."""
    acting = request.acting
    if request.method == "POST":
        if "all" in request.POST:
            count = notices.mark_read(request.user, acting.school, role=acting.role)
            messages.success(
                request,
                ngettext(
                    "%(count)d notice marked as read.", "%(count)d notices marked as read.", count
                )
                % {"count": count},
            )
        else:
            pk = parse_id(request.POST.get("notice"))
            if pk is not None:
                notices.mark_read(request.user, acting.school, [pk], role=acting.role)
        return redirect(request.get_full_path())
    unread = notices.unread_count(request.user, acting.school, acting.role)
    page = Paginator(
        Notice.objects.for_user(request.user, acting.school, acting.role), PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "notices/index.html",
        {
            "page": page,
            "items": notices.rendered(page.object_list),
            "unread": unread,
            "notices_unread": unread,  # the header's count, read once
        },
    )


class EmailForm(Form):
    kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Also send me by e-mail"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, offered: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(NoticeKind.choices)
        field = self.fields["kinds"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(kind, labels[kind]) for kind in offered]


@acting_required()
def email_settings(request: ActingRequest) -> HttpResponse:
    """Which kinds of notice the person also gets by e-mail (all, until they turn one off)."""
    user = request.user
    offered = notices.kinds_for(request.acting.role)
    off = set(user.notice_email_off or [])
    form = EmailForm(
        request.POST or None,
        offered=offered,
        initial={"kinds": [kind for kind in offered if kind not in off]},
    )
    if request.method == "POST" and form.is_valid():
        wanted = set(form.cleaned_data["kinds"])
        # Kinds not offered in this role keep their setting.
        notices.email_off_set(user, (off - set(offered)) | (set(offered) - wanted))
        messages.success(request, _("Your e-mail settings are saved."))
        return redirect("notices:settings")
    return render(
        request,
        "notices/settings.html",
        {"form": form, "offered": offered},
        status=400 if form.is_bound else 200,
    )
