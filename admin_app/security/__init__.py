"""Who may do what, and the record of who did: sign-in, sessions, passwords, the audit log."""
