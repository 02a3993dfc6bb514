"""The candidates, one package per layer of the domain (issue #11): registration by a structure,
training, evaluations per bloc, readiness for the jury, postponement and withdrawal.

- :mod:`certification.candidates.models`: its tables (``Candidate``, ``Evaluation``);
- :mod:`certification.candidates.states`: its states, labels and state machine (who may do what);
- :mod:`certification.candidates.queries`: what an actor may read;
- :mod:`certification.candidates.service`: the services that apply its transitions, and the blocs
  a person already holds (partial validation, valid 5 years);
- :mod:`certification.candidates.actions`: the actions an actor may take on a candidate now.

Its API and back-office pages are :mod:`api.candidates`, its e-mails
``notifications/templates/candidates/``.
"""
