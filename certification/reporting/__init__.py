"""The certifier's activity report (rapport d'activité), one package per layer of the domain
(issue #11). It has no table nor state of its own: it counts, per year and region, what the other
processes recorded.

- :mod:`certification.reporting.queries`: the read model, :func:`activity_report` (indicators per
  year, per region, with their definitions).

Its API and back-office page are :mod:`api.reporting`, its PDF layout :mod:`documents.activity_report`
with its template ``documents/templates/reporting/``.
"""
