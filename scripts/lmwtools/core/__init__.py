"""What every tool shares: the user error and exit codes, progress lines, paths, host tools.

Nothing here imports another part of lmwtools.
"""
