"""Letters and files: Jinja2 + WeasyPrint rendering, upload checks, atomic storage.

Modules:
  ``render``     Jinja2 environment, ``render_html`` / ``render_pdf``, setup checks.
  ``formatting`` French filters (``date_fr``, ``datetime_fr``, ``filesize``, ``nl2br``).
  ``storage``    upload checks and content-addressed storage, ``DocumentStore``.
  ``models``     ``GeneratedDocument`` table.
  ``service``    ``ensure_document`` (idempotent generation), ``list_documents``.
  ``samples``    sample contexts for previews, setup checks and tests.

WeasyPrint is imported lazily, on the first PDF render.
"""
