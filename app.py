"""Streamlit entry point: `streamlit run app.py` opens the planner's workbench on the sample.

Streamlit runs this file as `__main__`; the guard keeps the page from being drawn again
when a sensitivity run's worker processes import it (forkserver/spawn import the main
module).
"""

from optimizer.app.ui import main

if __name__ == "__main__":
    main()
