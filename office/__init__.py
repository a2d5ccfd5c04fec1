"""smseal.office: the exchange between offices, shared by the ``smseal`` command and the page.

Where envelope/ knows one package and keystore/ knows keys and units, this layer knows an
office's state under SMSEAL_HOME: its configuration (``config``), the local ledger of what was
sent and received (``ledger``), the transports that carry sealed bytes (``transport``: an outbox
folder, SMTP), the pinned authority and installed directory bundle (``trust``), safe output
files (``fsutil``) and the translations (``i18n``).  Policy lives here or below, never only in
the command: the command and the page are thin callers of these functions.
"""
