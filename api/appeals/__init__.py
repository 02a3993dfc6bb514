"""The appeals (recours) in the API: :mod:`api.appeals.router` (``/appeals``, included by
:mod:`api.app`) and :mod:`api.appeals.schemas` (its bodies). Its domain is
:mod:`certification.appeals`; its back-office page is still among the jury's pages."""
