# The two commands of the README. Both set everything up first (scripts/setup.sh is idempotent).
.PHONY: lab test setup

# Start JupyterLab with the heapscope kernel on the bundled demo notebook.
lab:
	bash scripts/lab.sh

# Set up everything the tests need and run every test (what .ci/run calls).
test:
	bash scripts/test.sh

setup:
	bash scripts/setup.sh
