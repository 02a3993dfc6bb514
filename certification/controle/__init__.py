"""The contrôle d'agrément, one package per layer of the domain (issue #11).

- :mod:`certification.controle.models`: its tables (``Controle``, ``ControleFile``);
- :mod:`certification.controle.states`: its states, labels and state machine (who may do what);
- :mod:`certification.controle.queries`: what an actor may read;
- :mod:`certification.controle.service`: the services that apply its transitions;
- :mod:`certification.controle.actions`: the actions an actor may take on a contrôle now.

Its flow is :mod:`flows.controle`, its API and back-office pages :mod:`api.controle`, its
letters ``documents/templates/controle/`` and its e-mails ``notifications/templates/controle/``.
"""
