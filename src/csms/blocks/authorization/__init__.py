"""C Authorization: the operator commands of the authorization block (ClearCache)."""
