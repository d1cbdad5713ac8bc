"""``python -m modelyard.container.algorithms.xgboost``: the built-in XGBoost algorithm."""

import sys

from modelyard.container.algorithms.xgboost.training import main

sys.exit(main())
