"""The jury sessions and the certificates in the API: :mod:`api.jury.router` (``/jury-sessions``)
and :mod:`api.jury.router_certificates` (``/certificates``), both included by :mod:`api.app`,
:mod:`api.jury.schemas` (their bodies) and :mod:`api.jury.pages` (the back-office pages
``/app/jurys``, registered by :mod:`api.web`). Its domain is :mod:`certification.jury`."""
