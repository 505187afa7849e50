"""Services: the verbs that write and read execution rows. Callers use these, never raw SQL."""
