"""Use cases. Services never touch ``request``, ``session`` or templates."""
