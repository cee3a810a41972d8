"""Video to incidents: sources, tracking, zone rules, incidents, evidence and storage."""
