"""The built-in job types' executors: command, powershell, python and http.

Kept import-free: `python -m adapters.executors.python_child` imports this package in every
Python job's child process, which should start fast.
"""
