"""What the CLI's commands do around the reconcile core: plan/apply/status commands and their exit
codes (`commands`), the state records (`records`), taking over an account (`dump`), the demo."""
