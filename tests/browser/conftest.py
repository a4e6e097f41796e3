# The notebooks here are driven by tests/test_browser.py in JupyterLab, not checked by nbval.
collect_ignore_glob = ["*.ipynb"]
