"""The page as Dash components, one module per tab (its layout and the outputs of its
callbacks, built from dashboard.views' plain data), the shared components and the page
itself (`page.page`, `page.navigate`). Only this package and dashboard/app.py and
dashboard/callbacks.py import Dash."""
