"""scalinglab: train model families, fit and validate scaling laws, report them."""

from pathlib import Path

__version__ = "0.1.0"

PACKAGE_DIR = Path(__file__).resolve().parent
WORKFLOW_DIR = PACKAGE_DIR.parent
SCHEMA_PATH = WORKFLOW_DIR / "schemas" / "config.schema.yaml"
