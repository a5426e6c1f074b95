"""Needs attention: a red flag of a live response becomes an item of work for the returnee's
organisation, on its work list and the case page, until someone records what they did.

`operations.py` opens items (called where flags are raised: `apply_scores`) and closes them;
the close form posts to this blueprint from the work list and the case page alike."""
