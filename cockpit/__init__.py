"""The finance cockpit: the dashboard that is the admin's home page, a driver's (and a lease's)
whole account on one page with a printable statement, and the same account over the API."""
