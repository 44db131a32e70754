"""New organizations without an owner get one through the territory rules, after the commit
(so that the address saved in the same form is known). A changed exchange rate converts the deals
of its currency again, after the commit."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from contacts.models import Organization
from sales.models import ExchangeRate


@receiver(post_save, sender=Organization, dispatch_uid="sales_assign_organization_owner")
def assign_new_organization(sender, instance, created, raw=False, **kwargs):
    if raw or not created or instance.owner_id is not None:
        return

    def assign():
        from sales.services import organization_assign_owner

        organization = Organization.objects.filter(pk=instance.pk, owner__isnull=True).first()
        if organization is not None:
            organization_assign_owner(organization=organization)

    transaction.on_commit(assign)


@receiver(post_save, sender=ExchangeRate, dispatch_uid="sales_exchange_rate_saved")
@receiver(post_delete, sender=ExchangeRate, dispatch_uid="sales_exchange_rate_deleted")
def exchange_rate_changed(sender, instance, raw=False, **kwargs):
    if raw:
        return
    from sales.tasks import deals_convert

    currency = instance.currency
    transaction.on_commit(lambda: deals_convert.delay(currency))
