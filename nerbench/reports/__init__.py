"""Reports: stored results -> HTML, Markdown, CSV. No model runs here, no scoring."""
