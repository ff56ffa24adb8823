"""What a fitted run becomes: tables, text, figures, LaTeX, an HTML page and BibTeX.

Tables and text (``report``), figures (``plots``), LaTeX (``latex``), a self-contained HTML
page (``webpage``) and BibTeX (``citation``).
"""
