"""Find image references in config files and rewrite them byte-minimally."""
