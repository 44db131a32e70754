"""A user's CardDAV address book, kept as a copy of the people they may see (or of one segment
of them), so that those people appear in the contacts app of their phone.

- models.py: the connection (encrypted password, scope, state of the last run), one row per
  card the CRM wrote (href, ETag, hash of the vCard), and the conflicts found there.
- carddav.py: the protocol, plain WebDAV over `requests` (discovery, PROPFIND, PUT/DELETE with
  If-Match/If-None-Match), with errors in words.
- scopes.py: which segments a user may choose (marketing fills it in; contacts knows no segment).
- sync.py: the services (`addressbook_connect`, `addressbook_push`, ...).

The CRM is the master of the cards it wrote: a card edited or deleted on the phone is written
again, but the phone's version is kept as a conflict on the page first, so nothing is lost unseen.
"""
