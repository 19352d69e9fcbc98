from grader.cli.main import app

app()
