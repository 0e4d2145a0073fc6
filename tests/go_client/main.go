// A VoIPbin client that knows nothing of fakevoipbin: the standard library only, the
// production URL hard-coded, as VoIPbin's Go SDK does. Go's default transport reads
// HTTPS_PROXY and, on Linux, SSL_CERT_FILE: under `fakevoipbin run --intercept` that
// is all it needs to reach the fake. It lists the keys, creates one, reads it back and
// deletes it; any answer that is not the expected status ends it with exit 1.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

const base = "https://api.voipbin.net/v1.0"

func call(method, url, body string, want int) map[string]any {
	var reader io.Reader
	if body != "" {
		reader = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, reader)
	if err != nil {
		fail("%s %s: %v", method, url, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		fail("%s %s: %d, wanted %d: %s", method, url, res.StatusCode, want, raw)
	}
	found := map[string]any{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &found); err != nil {
			fail("%s %s: not JSON: %v", method, url, err)
		}
	}
	fmt.Printf("%s %s -> %d\n", method, strings.SplitN(url, "?", 2)[0], res.StatusCode)
	return found
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go client: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	key := os.Getenv("VOIPBIN_API_KEY")
	if key == "" {
		fail("VOIPBIN_API_KEY is not set")
	}
	auth := "?accesskey=" + key
	call("GET", base+"/accesskeys"+auth, "", 200)
	created := call("POST", base+"/accesskeys"+auth, `{"name":"go","expire":86400}`, 200)
	id, _ := created["id"].(string)
	if token, _ := created["token"].(string); !strings.HasPrefix(token, "vb_") || id == "" {
		fail("the create answered no id or token")
	}
	call("GET", base+"/accesskeys/"+id+auth, "", 200)
	call("DELETE", base+"/accesskeys/"+id+auth, "", 200)
}
