"""keystore layer of smseal."""
