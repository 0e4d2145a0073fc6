wrk.method = "POST"
wrk.body = '{"name":"bench","detail":"made by make bench","expire":86400}'
wrk.headers["Content-Type"] = "application/json"
