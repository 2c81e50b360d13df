package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `quorumlab cluster up` leaves a healthy 3-member cluster running; `down` stops it. */
class ClusterUpDownIT {
    @TempDir
    Path dir;

    @Test
    void upThenDown() throws Exception {
        Path jar = Path.of("target/quorumlab.jar").toAbsolutePath();
        assertTrue(Files.exists(jar), "package first: " + jar);
        Process up = new ProcessBuilder("java", "-jar", jar.toString(), "cluster", "up", "--members", "3", "--dir", dir.toString())
                .redirectErrorStream(true).start();
        String out = new String(up.getInputStream().readAllBytes());
        assertEquals(0, up.waitFor(), out);
        List<String> state = Files.readAllLines(dir.resolve(ClusterCommand.STATE));
        assertEquals(3, state.size());
        try {
            HttpClient http = HttpClient.newHttpClient();
            for (String line : state) {
                String ep = line.split(" ")[1];
                var r = http.send(HttpRequest.newBuilder(URI.create("http://" + ep + "/health")).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals("{\"health\":\"true\"}", r.body().trim(), ep);
            }
        } finally {
            Process down = new ProcessBuilder("java", "-jar", jar.toString(), "cluster", "down", "--dir", dir.toString())
                    .redirectErrorStream(true).start();
            String dout = new String(down.getInputStream().readAllBytes());
            assertEquals(0, down.waitFor(), dout);
        }
        for (String line : state) {
            assertFalse(ProcessHandle.of(Long.parseLong(line.split(" ")[0])).map(ProcessHandle::isAlive).orElse(false));
        }
    }
}
