# The notebooks here are driven by tests/browser/test_lab.py in JupyterLab, not checked by nbval.
collect_ignore_glob = ["*.ipynb"]
