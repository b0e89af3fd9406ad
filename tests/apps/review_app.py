"""A page with the Review page alone, for AppTest (the language from $REVIEW_APP_LANG)."""

import os

from optimizer.app.review import review_page

review_page(os.environ.get("REVIEW_APP_LANG", "zh"))
