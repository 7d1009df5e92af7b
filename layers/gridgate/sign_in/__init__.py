"""People's sign-in to the pages through the city identity provider, and their sessions."""
