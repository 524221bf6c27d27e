# No MARKETING campaign is registered (or changed) unless its document carries an approval label:
# marketing traffic gets the closest carrier scrutiny and costs the most to get wrong.
#
#   metadata:
#     name: spring-sale
#     labels: {senderctl.io/approved-by: legal-jane}
package main

import rego.v1

approval_label := "senderctl.io/approved-by"

deny contains msg if {
	some change in input.changes
	startswith(change.address, "Campaign/")
	change.action in {"create", "update", "replace"}
	change.after.usecase == "MARKETING"
	not approved(change.address)
	msg := sprintf("%s is a MARKETING campaign without the %s label on its document", [change.address, approval_label])
}

approved(address) if {
	label := input.resources[address].labels[approval_label]
	label != ""
}
