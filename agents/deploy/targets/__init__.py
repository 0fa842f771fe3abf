"""Deploy targets: where a rendered repository is published and run (local, github+aws)."""
