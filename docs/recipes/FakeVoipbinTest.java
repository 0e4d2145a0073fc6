// Testcontainers for Java (JUnit 5): fakevoipbin's image for a test class, waited on with
// GET /ping. Test dependencies: org.testcontainers:testcontainers, org.testcontainers:junit-jupiter.
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

@Testcontainers
class FakeVoipbinTest {
    static final String TUTORIAL_TOKEN = "vb_a3Bf9xKmPq2nR7sT4wYzLp8mN5qR1xWe";
    static final String IMAGE =
        System.getenv().getOrDefault("FAKEVOIPBIN_IMAGE", "fakevoipbin:latest");

    @Container
    static final GenericContainer<?> FAKE = new GenericContainer<>(DockerImageName.parse(IMAGE))
        .withEnv("FAKEVOIPBIN_CONTROL_TOKEN", "tc-control-token")
        .withEnv("FAKEVOIPBIN_NOW", "2026-12-01T10:15:30.123456Z")
        .withExposedPorts(8088)
        .waitingFor(Wait.forHttp("/ping").forPort(8088).forStatusCode(200));

    @Test
    void listsTheTutorialKey() throws Exception {
        String base = "http://" + FAKE.getHost() + ":" + FAKE.getMappedPort(8088) + "/v1.0";
        HttpResponse<String> answer = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create(base + "/accesskeys?accesskey=" + TUTORIAL_TOKEN)).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, answer.statusCode());
    }
}
