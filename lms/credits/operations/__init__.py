"""Every write of the credit bank (law 1). Flush, never commit.

One module per part: accounts and posting to the ledger, conversion rules, outcomes (with
certification and reversal), transcripts. Callers use this package's names.
"""

from lms.credits.operations.accounts import (
    account_for,
    entries_newest_first,
    find_entry,
    lock_account,
    open_account,
    open_accounts,
    open_missing_accounts,
    post_entry,
)
from lms.credits.operations.checkpoints import create_checkpoint
from lms.credits.operations.course_hours import Measured, certify_course_hours, measure_course
from lms.credits.operations.outcomes import (
    certify_outcome,
    post_course_completion,
    record_course_completion,
    reject_outcome,
    reverse_entry,
    submit_outcome,
)
from lms.credits.operations.rules import (
    DEFAULT_HOURS_PER_CREDIT,
    Conversion,
    applicable_rule,
    convert,
    credits_for_course,
    current_rules,
    describe_rule,
    earned_this_year,
    retire_rule,
    save_rule,
)
from lms.credits.operations.transcripts import issue_transcript, standing_entries
from lms.credits.operations.transfers import (
    add_trusted_issuer,
    flagged_imports,
    import_credential,
    recheck_imported,
    refresh_trusted_issuer_keys,
    retire_trusted_issuer,
)

__all__ = [
    "DEFAULT_HOURS_PER_CREDIT",
    "Conversion",
    "Measured",
    "account_for",
    "add_trusted_issuer",
    "applicable_rule",
    "certify_course_hours",
    "certify_outcome",
    "convert",
    "create_checkpoint",
    "credits_for_course",
    "current_rules",
    "describe_rule",
    "earned_this_year",
    "entries_newest_first",
    "find_entry",
    "flagged_imports",
    "import_credential",
    "issue_transcript",
    "lock_account",
    "measure_course",
    "open_account",
    "open_accounts",
    "open_missing_accounts",
    "post_course_completion",
    "post_entry",
    "record_course_completion",
    "recheck_imported",
    "refresh_trusted_issuer_keys",
    "reject_outcome",
    "retire_rule",
    "retire_trusted_issuer",
    "reverse_entry",
    "save_rule",
    "standing_entries",
    "submit_outcome",
]
