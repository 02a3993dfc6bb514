"""The candidates in the API: :mod:`api.candidates.router` (``/candidates``, included by
:mod:`api.app`), :mod:`api.candidates.schemas` (its bodies) and :mod:`api.candidates.pages` (its
back-office pages ``/app/candidats``, registered by :mod:`api.web`). Its domain is
:mod:`certification.candidates`."""
