"""The one way records enter a store: validation, references, domain rules, one atomic write.

Every door (``bienmoc import``, ``bienmoc record ...``, the API's POST/PATCH, scripts) calls
these functions; see :mod:`bienmoc.records.rules` for the rules and their override names.
"""
from bienmoc.records.entry import border_model, check_allow, enter, transaction
from bienmoc.records.recording import (INCIDENT_LOG, append_records, import_records,
                                       record_incident, record_incidents, record_inspection, record_progress,
                                       reference_problems, resurvey_marker, update_incident)
from bienmoc.records.rules import RULE_NAMES, RuleProblem, RuleSettings

__all__ = ["append_records", "import_records", "record_progress", "record_inspection",
           "resurvey_marker", "record_incident", "record_incidents", "update_incident", "reference_problems",
           "enter", "transaction", "border_model", "check_allow", "RuleSettings", "RuleProblem",
           "RULE_NAMES", "INCIDENT_LOG"]
