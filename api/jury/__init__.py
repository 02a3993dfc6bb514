"""The jury sessions and the certificates in the API: :mod:`api.jury.router` (``/jury-sessions``)
and :mod:`api.jury.router_certificates` (``/certificates``), both included by :mod:`api.app`,
:mod:`api.jury.schemas` (their bodies), :mod:`api.jury.pages` and
:mod:`api.jury.pages_certificates` (the back-office pages ``/app/jurys`` and ``/app/certificats``,
registered by :mod:`api.web`). Its domain is :mod:`certification.jury`."""
