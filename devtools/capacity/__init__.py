"""`make capacity`: the worker fleet and its autoscaler, simulated from measured inputs.

A discrete-event model (SimPy) of what happens to a burst of photos in AWS: the scaling policy
and its alarms as terraform defines them (policy.py), tasks that take the measured time to
start and the measured service time per photo (inputs.py), Spot reclaims with their two
minutes' warning, and the visibility timeout for work a task takes down with it (fleet.py),
replayed over the workloads an operator asks about (workloads.py).
"""
