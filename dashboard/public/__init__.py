"""The public side of the register: no login. Registration, the owner's management link, and
campaign QR links. Server-rendered HTML forms that work without JavaScript (the map pin is an
enhancement), each state-changing POST protected by a CSRF token and rate-limited per client."""
