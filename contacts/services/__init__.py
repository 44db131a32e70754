"""Contacts workflows that span models or have side effects (HackSoft style: keyword-only, atomic).

Submodules: `activities` (timeline entries), `duplicates` (detection and merge),
`importing` (CSV import), `exporting` (CSV export).
"""
