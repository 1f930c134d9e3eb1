"""Status: what the controller records on a Service (``records``) and what the speakers read
back from it as the assignments they announce (``assignments``)."""
