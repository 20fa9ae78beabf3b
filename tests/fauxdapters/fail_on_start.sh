#!/bin/sh
# A fake adapter that reads the start message, complains on stderr and exits (Bowtie's fail_on_start).
read -r _line
echo "BOOM!" >&2
exit 1
