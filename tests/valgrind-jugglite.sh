#!/bin/sh
# valgrind-jugglite.sh -- jugglite under valgrind memcheck, for the
# `valgrind` CTest label (tests/CMakeLists.txt). Use it as JUGGLITE_BIN:
#   JL_VG_BIN     the real jugglite binary
#   JL_VG_LOGDIR  where each process writes <pid>.log (default /tmp)
# exec keeps the pid, so tests can still read /proc/<pid>. Leaks of the
# definite and indirect kinds count as errors; the CTest wrapper fails the
# test unless every log ends with "ERROR SUMMARY: 0 errors". A SIGUSR2
# restart's new process is checked too (--trace-children); the moment
# between its fork and its exec writes no log of its own.
exec valgrind --trace-children=yes --child-silent-after-fork=yes --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --log-file="${JL_VG_LOGDIR:-/tmp}/%p.log" "${JL_VG_BIN:?set JL_VG_BIN}" "$@"
