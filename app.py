"""Streamlit entry point: `streamlit run app.py` opens the planner's workbench on the sample."""

from optimizer.ui import main

main()
