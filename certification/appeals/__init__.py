"""The appeals (recours) against a jury's decision, one package per layer of the domain (issue #11).

- :mod:`certification.appeals.models`: its table (``Appeal``);
- :mod:`certification.appeals.states`: its states, labels and state machine (who may do what);
- :mod:`certification.appeals.queries`: what an actor may read;
- :mod:`certification.appeals.read_model`: the one read model of an appeal (``AppealView``), from
  which the API's response, the back-office page and the letters' context are built;
- :mod:`certification.appeals.service`: the services that apply its transitions (an upheld appeal
  amends the jury's results and its PV);
- :mod:`certification.appeals.actions`: the actions an actor may take on an appeal now.

Its API is :mod:`api.appeals`. Its letter and e-mails are still produced by the jury's flow
(:mod:`flows.jury`), its back-office page is among the jury's pages.
"""
