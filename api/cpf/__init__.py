"""The SI CPF export in the API: :mod:`api.cpf.router` (``/exports/cpf``, included by
:mod:`api.app`) and :mod:`api.cpf.schemas` (its bodies). The officers act through the API (the
back-office has no page of its own for the export yet). Its domain is :mod:`certification.cpf`."""
