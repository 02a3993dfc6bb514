"""The agrément in the API: :mod:`api.agrement.router` (``/agrement-requests``) and
:mod:`api.agrement.router_agrements` (``/agrements``), both included by :mod:`api.app`;
:mod:`api.agrement.schemas` (their bodies) and :mod:`api.agrement.pages` (the back-office pages
``/app/demandes`` and ``/app/agrements``, registered by :mod:`api.web`). Its domain is
:mod:`certification.agrement`."""
