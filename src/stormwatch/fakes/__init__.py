"""Local stand-ins for the platforms' APIs, on 127.0.0.1 only: they speak the documented wire
formats and misbehave on purpose (drop mid-line, go silent, 429/503 with Retry-After,
malformed JSON, repeats, deletions). The tests and `stormwatch bench listen` use them; they
are never pointed at, or pretend to be reachable as, the real services."""
