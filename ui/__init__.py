"""smseal.ui: the local page (``smseal ui``) for secretaries and the bureau.

Served on 127.0.0.1 only; every handler calls the same library functions as the command
(smseal.office, smseal.envelope, smseal.keystore), so each act has one implementation.
"""
