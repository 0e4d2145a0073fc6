// Testcontainers for Go: fakevoipbin's image for a test, waited on with GET /ping.
//
//	go get github.com/testcontainers/testcontainers-go
//	FAKEVOIPBIN_IMAGE=fakevoipbin:latest go test ./...
package client_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"
)

const tutorialToken = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe"

func TestAgainstFakevoipbin(t *testing.T) {
	ctx := context.Background()
	image := os.Getenv("FAKEVOIPBIN_IMAGE")
	if image == "" {
		image = "fakevoipbin:latest"
	}
	fake, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{
			Image:        image,
			ExposedPorts: []string{"8088/tcp"},
			Env: map[string]string{
				"FAKEVOIPBIN_CONTROL_TOKEN": "tc-control-token",
				"FAKEVOIPBIN_NOW":           "2026-12-01T10:15:30.123456Z",
			},
			WaitingFor: wait.ForHTTP("/ping").WithPort("8088/tcp").WithStatusCodeMatcher(
				func(status int) bool { return status == 200 }),
		},
		Started: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Terminate(ctx)
	host, _ := fake.Host(ctx)
	port, _ := fake.MappedPort(ctx, "8088")
	base := "http://" + host + ":" + port.Port() + "/v1.0" // your client's base URL
	resp, err := http.Get(base + "/accesskeys?accesskey=" + tutorialToken)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /accesskeys: %d %s", resp.StatusCode, body)
	}
}
