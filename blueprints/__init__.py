"""One package per area; each view declares who may use it (see guards)."""
