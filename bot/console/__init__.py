"""The agent console (``/console/``): call-center staff sign in, take conversations over from the bot,
answer customers, hand back or close; supervisors see everything and may reveal personal data for a
stated reason; administrators manage staff. Every action is checked on the server and audited."""
