"""The contrôle d'agrément in the API: :mod:`api.controle.router` (``/controles``, included by
:mod:`api.app`), :mod:`api.controle.schemas` (its bodies) and :mod:`api.controle.pages` (its
back-office pages ``/app/controles``, registered by :mod:`api.web`). Its domain is
:mod:`certification.controle`."""
