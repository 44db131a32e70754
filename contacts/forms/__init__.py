"""Forms of the contacts app, one module per area: records, imports, merge."""
