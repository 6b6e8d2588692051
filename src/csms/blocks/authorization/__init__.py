"""C Authorization: ClearCache (:mod:`.cache`)."""
