"""The agrément, one package per layer of the domain (issue #11): the requests of the training
structures (initial or renewal), their pieces, the agrément granted and its life (suspension,
reinstatement, withdrawal, expiry, renewal).

- :mod:`certification.agrement.models`: its tables (``AgrementRequest``, ``Piece``, ``Agrement``);
- :mod:`certification.agrement.states`: its states, labels, piece kinds and state machines (who
  may do what);
- :mod:`certification.agrement.queries`: what an actor may read, and what an agrément allows
  (the registration of candidates);
- :mod:`certification.agrement.service`: the services of the requests (submission, renewal,
  instruction, decision);
- :mod:`certification.agrement.lifecycle`: the services of a granted agrément's life;
- :mod:`certification.agrement.actions`: the actions an actor may take on a request or an
  agrément now.

Its flows are :mod:`flows.agrement` and :mod:`flows.agrement_lifecycle`, its API and back-office pages
:mod:`api.agrement`, its letters ``documents/templates/agrement/`` and its e-mails
``notifications/templates/agrement/``.
"""
