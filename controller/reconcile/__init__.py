"""The reconcile core: specs and the observed world in, a plan out, the plan carried out.

Pure (no I/O, see pyproject's import contracts): `plan` (the vocabulary), `planner`, `scope`,
`drift`, `desired`. The shell around it: `observe` (Bird and the state into a World), `apply`
(journaled Bird writes), `engine` (the loop the CLI and the daemon drive), `saved_plan`.
"""
