"""envelope layer of smseal."""
