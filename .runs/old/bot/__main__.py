from bot.cli import main

# The guard matters: parse worker processes are started with "spawn", which imports the main
# module again in each worker (as __mp_main__); without it every worker would run the CLI.
if __name__ == "__main__":
    raise SystemExit(main())
