"""Why a record did not become a post. Readers raise these; the file layer turns them into
`Reject` records with the file and line number."""


class MalformedRecord(ValueError):
    """The record is broken or lacks what every post needs (an id, a text)."""


class NotAPost(ValueError):
    """The record is valid but is not a post (a deletion, a like, an account event)."""
