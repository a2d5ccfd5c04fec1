"""cli layer of smseal."""
