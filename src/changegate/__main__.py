from changegate.cli.main import run

run()
