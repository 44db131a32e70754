"""analytics stores nothing about a contacts person: its snapshots hold dashboard figures about
organizations, deals and staff, recomputed every few minutes (crm.privacy)."""

from analytics.models import Snapshot
from crm.privacy import classify

classify(Snapshot, not_personal="name user params language payload computed_at viewed_at compute_ms")
