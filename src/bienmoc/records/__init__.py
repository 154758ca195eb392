"""The one way records enter a store: validation, references, domain rules, one atomic write."""
from bienmoc.records.recording import (append_records, record_inspection, record_progress,
                                       reference_problems, resurvey_marker)

__all__ = ["append_records", "record_inspection", "record_progress", "reference_problems",
           "resurvey_marker"]
