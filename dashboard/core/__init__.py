"""The bottom layer: what every other layer may import and which imports nothing of the app but itself
(plus settings, mail and ids beside it): the shared vocabulary, UK time, coordinate reference systems,
token digests, the audit row's canonical form and the disclosure-control record key."""
