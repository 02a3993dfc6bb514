"""The VAE pathway in the API: :mod:`api.vae.router` (``/vae-dossiers``, included by
:mod:`api.app`), :mod:`api.vae.schemas` (its bodies) and :mod:`api.vae.pages` (its back-office
pages ``/app/vae``, registered by :mod:`api.web`). Its domain is :mod:`certification.vae`."""
