"""Users, organisations, passwords, tokens and login throttling."""
