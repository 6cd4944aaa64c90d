# Shorthands for the two commands in the README; bin/run and bin/test need no make.
.PHONY: run test

run:
	bin/run

test:
	bin/test
