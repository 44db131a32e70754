from celery import shared_task


@shared_task
def snapshots_refresh() -> int:
    """Periodic: recompute the dashboard snapshots in use (analytics.snapshots.refresh_active)."""
    from analytics.snapshots import refresh_active

    return refresh_active()
