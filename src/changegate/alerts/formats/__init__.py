"""How one alert is put on the wire for each kind of target (pure: no database, no HTTP)."""
