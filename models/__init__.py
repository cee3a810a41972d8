"""Model artifacts and the code that makes them: scripted and synthetic street scenes,
training and export."""
