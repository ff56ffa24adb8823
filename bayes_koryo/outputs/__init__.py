"""What a fitted run becomes: tables and text (``report``), figures (``plots``), LaTeX
(``latex``), a self-contained HTML page (``webpage``) and BibTeX (``citation``).
"""
