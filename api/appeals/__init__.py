"""The appeals (recours) in the API: :mod:`api.appeals.router` (``/appeals``, included by
:mod:`api.app`), :mod:`api.appeals.schemas` (its bodies) and :mod:`api.appeals.pages` (the
back-office page ``/app/recours``). Its domain is :mod:`certification.appeals`."""
