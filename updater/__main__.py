from __future__ import annotations

from updater.cli import main

if __name__ == "__main__":
    main()
