"""Money: unit costs, the high-needs budget and DSG balance, Safety Valve agreements, reports."""
