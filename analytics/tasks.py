from celery import shared_task


@shared_task
def snapshots_refresh() -> int:
    """Periodic: recompute the dashboard snapshots in use (analytics.snapshots.refresh_active)."""
    from analytics.snapshots import refresh_active

    return refresh_active()


@shared_task
def snapshot_refresh(snapshot_id: int) -> bool:
    """Recompute one dashboard snapshot that was served while older than its maximum age."""
    from analytics.snapshots import refresh_one

    return refresh_one(snapshot_id)
