"""The EPSP training and the appuis pédagogiques in the API: :mod:`api.training.router`
(``/training-sessions``) and :mod:`api.training.router_appuis` (``/appuis``), both
included by :mod:`api.app`; :mod:`api.training.schemas` (their bodies) and
:mod:`api.training.pages` (the back-office pages ``/app/formations`` and ``/app/appuis``,
registered by :mod:`api.web`). Its domain is :mod:`certification.training`."""
