"""A user's own mailbox, synced over IMAP onto the timelines of the people they write with.

- models.py: the connection (encrypted password, sync state), its folders' UIDVALIDITY/UID
  positions, and the synced messages (one row per Message-ID, the dedup key).
- imap.py: the protocol (connect, folders, fetch), with errors in words.
- parsing.py: a raw message to what the timeline stores (robust against broken MIME).
- sync.py: the services (`mailbox_connect`, `mailbox_sync`, `synced_email_set_private`).
"""
