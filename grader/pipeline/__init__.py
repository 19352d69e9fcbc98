"""Pipeline: the stages that grade one submission (intake → static checks → execute in a
sandbox → tests on the host through the bridge → score), assembled in :mod:`.grading`."""
