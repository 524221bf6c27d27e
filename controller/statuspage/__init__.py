"""The daemon's status page (/ui): the estate at a glance, a filterable table, 10DLC timelines."""
