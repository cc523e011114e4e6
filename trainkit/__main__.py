"""`python -m trainkit ...` is the `trainkit` command."""
from trainkit.app.cli import main

if __name__ == "__main__":
    main()
