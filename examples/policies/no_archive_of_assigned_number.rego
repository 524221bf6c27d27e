# No number is archived while a user has it: archiving cannot be undone, and the user's replies would
# stop reaching them. Unassign it in one change, archive it in the next.
package main

import rego.v1

deny contains msg if {
	some change in input.changes
	change.action == "archive"
	user := change.before.assignee
	msg := sprintf("%s (%s) is assigned to %s; unassign it before archiving it", [change.address, change.before.number, user])
}
