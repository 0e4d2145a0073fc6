"""What every face judges by, below the faces: the request checks against openapi.yaml,
the rules one exchange can show, and the client report (statuses met and never met,
spec breaches, drift). The fake's pipeline, ``verify``, the proxy and ``run`` all call
these; nothing here imports a face."""
