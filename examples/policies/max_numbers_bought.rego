# At most `max_numbers` phone numbers bought by one plan: a typo in a NumberPool's count (250 for 25)
# must not buy 250 numbers, each billed monthly by Bird and weekly by the platform.
package main

import rego.v1

max_numbers := 50

bought contains change.address if {
	some change in input.changes
	change.action == "create"
	startswith(change.address, "PhoneNumber/")
}

bought contains change.address if {
	some change in input.changes
	change.action == "create"
	startswith(change.address, "NumberPool/")
}

deny contains msg if {
	count(bought) > max_numbers
	msg := sprintf("the plan buys %d numbers; at most %d may be bought by one plan (split the change, or raise max_numbers)", [count(bought), max_numbers])
}
