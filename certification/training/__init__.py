"""The EPSP training of encadrants and the appuis pédagogiques, one package per layer of the domain
(issue #11).

- :mod:`certification.training.models`: its tables (``Encadrant``, ``TrainingSession``,
  ``TrainingEnrollment``, ``Appui``);
- :mod:`certification.training.states`: their states, labels and state machines (who may do what);
- :mod:`certification.training.queries`: what an actor may read;
- :mod:`certification.training.service`: the services of the sessions, enrolments and encadrants;
- :mod:`certification.training.appuis`: the services of the appuis pédagogiques;
- :mod:`certification.training.actions`: the actions an actor may take on them now.

Its flow is :mod:`flows.training`, its API and back-office pages :mod:`api.training`, its
attestation ``documents/templates/training/`` and its e-mails ``notifications/templates/training/``.
"""
