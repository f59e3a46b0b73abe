"""The bureau assistant's own library: settings, database, domain logic and the staff CLI."""
