"""The test stage: the assignment's pytest files run in this process against the live kernel."""
