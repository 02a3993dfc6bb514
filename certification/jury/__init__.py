"""The jury session and the issuance of certificates, one package per layer of the domain (issue #11).

- :mod:`certification.jury.models`: its tables (``JurySession``, ``JuryMember``, ``JuryCandidate``,
  ``Deliberation``, ``BlocAcquisition``, ``Certificate``);
- :mod:`certification.jury.states`: the states, labels and state machines of the jury session and
  of the certificate (who may do what);
- :mod:`certification.jury.queries`: what an actor may read;
- :mod:`certification.jury.read_model`: the one read model of a session (``JuryView``), from which
  the API's response, the back-office page and the documents' context are built;
- :mod:`certification.jury.service`: the services that apply the jury session's transitions;
- :mod:`certification.jury.issuance`: the issuance of certificates and attestations de blocs;
- :mod:`certification.jury.actions`: the actions an actor may take on a jury session now.

Its flow is :mod:`flows.jury`, its API and back-office pages :mod:`api.jury`, its letters
``documents/templates/jury/`` and its e-mails ``notifications/templates/jury/``.
"""
