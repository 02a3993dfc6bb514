"""The VAE pathway (validation des acquis de l'expérience), one package per layer of the domain.

- :mod:`certification.vae.models`: its table (``VaeDossier``, table ``vae_dossiers``);
- :mod:`certification.vae.states`: its states, labels and state machine (who may do what);
- :mod:`certification.vae.queries`: what an actor may read;
- :mod:`certification.vae.service`: the services that apply its transitions;
- :mod:`certification.vae.actions`: the actions an actor may take on a dossier now.

A VAE candidate is a candidate registered with the pathway ``vae``: his dossier goes from the
request to the recevabilité decision, the livret 2 and the jury's interview; he is then a normal
candidate for the jury (deliberation per bloc, certificates, CPF export), assessed only on the
blocs his dossier requests. Its flow is :mod:`flows.vae`, its API and back-office pages
:mod:`api.vae`, its letters ``documents/templates/vae/`` and its e-mails
``notifications/templates/vae/``.
"""
