"""The SI CPF export (the certified holders declared to the Caisse des Dépôts), one package per
layer of the domain (issue #11).

- :mod:`certification.cpf.models`: its tables (``CpfRecord``, ``CpfExportBatch``, ``CpfBatchItem``);
- :mod:`certification.cpf.states`: the states, labels and state machine of a record, the batch's
  states, the due date and the reminders of a batch awaiting its report;
- :mod:`certification.cpf.queries`: what the officers may read;
- :mod:`certification.cpf.service`: the services that apply its transitions (a batch produced, a
  deposit declared, a report imported, a re-sending asked for);
- :mod:`certification.cpf.actions`: the actions an officer may take on a record or a batch now;
- :mod:`certification.cpf.records`: the records kept up to date (created, cancelled, held back);
- :mod:`certification.cpf.flux`: the XML flux and its validation against the data dictionary;
- :mod:`certification.cpf.report`: the processing report (compte rendu) read.

Its flow is :mod:`flows.cpf`, its API :mod:`api.cpf` and its e-mails
``notifications/templates/cpf/`` (queued as ``cpf/<name>``).
"""
