# At most `max_monthly_increase` USD more a month: what the plan's changes add to the estate's monthly
# run-rate (Bird's monthly prices, plus the platform's weekly prices over a month). One-time fees
# (registrations, vetting) are left to the review, with a warning.
package main

import rego.v1

max_monthly_increase := 500

weeks_per_month := 52 / 12

monthly_increase := to_number(input.total_cost.monthly) + (to_number(input.total_cost.weekly) * weeks_per_month)

deny contains msg if {
	monthly_increase > max_monthly_increase
	msg := sprintf("the plan adds %.2f %s a month to the run-rate; at most %d is allowed per plan", [monthly_increase, input.total_cost.currency, max_monthly_increase])
}

warn contains msg if {
	to_number(input.total_cost.one_time) > 0
	msg := sprintf("the plan charges %s %s in one-time fees", [input.total_cost.one_time, input.total_cost.currency])
}
