"""The dashboard's numbers: caseload, response, design-weighted outcomes, how they heard,
decision factors, trends, and disclosure control. `tables` holds the figures (pure functions of
a `filters.ReportFilter`), `aggregates` their SQL, `estimator` the survey arithmetic,
`suppression` the publication rule, `cli` the `monitor report` command."""
