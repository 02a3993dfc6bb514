"""E-mail notifications: templates, transactional outbox, delivery with retries.

Modules:
  ``models``     ``OutboxMessage`` table.
  ``outbox``     ``render_message``, ``enqueue``, ``build_email``, ``deliver_pending``.
  ``transport``  ``SmtpTransport`` (aiosmtplib), ``FileTransport`` (.eml files), ``build_transport``.
"""
