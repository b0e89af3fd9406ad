"""The Streamlit workbench: page (`ui`), view-model, charts, plan-of-record and review pages."""
