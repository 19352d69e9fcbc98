"""Publishing grades: the reviewed gradebook in a form an LMS imports (``grade export``)."""
