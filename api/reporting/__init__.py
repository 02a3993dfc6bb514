"""The activity report (rapport d'activité) in the API: :mod:`api.reporting.router`
(``/reports``, included by :mod:`api.app`) and :mod:`api.reporting.pages` (its back-office page
``/app/rapport``, registered by :mod:`api.web`). Its read model is :mod:`certification.reporting`."""
