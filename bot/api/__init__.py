"""The back-office integration API (``/api/v1/``) for the company's dispatch and marketing systems."""
