"""Two-way sync of a user's CalDAV calendar: the appointments they host are pushed into it (same
UID as the invitations), their other events become busy times that block slots, and moves or
deletions made there come back to the CRM (a deletion only after the host confirms).

models.py holds the connection, the busy times and one push state per appointment; caldav.py
talks to the server; sync.py holds the workflows the views and tasks call."""
