package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ServerJvmTest {
    @Test
    void commentsAndBlankLinesAreNotOptions() {
        assertEquals(List.of("-Xmx1g", "-XX:+UseSerialGC"), ServerJvm.parse(List.of("# why", "", "  -Xmx1g ", "-XX:+UseSerialGC", "  # more")));
    }

    @Test
    void theDistributionCarriesTheLaunchersFile() throws Exception {
        // The launcher reads the source file; the Java side reads the copy in the jar: they must agree.
        Path src = Path.of("src/main/resources/io/quorumlab/cli/server-jvm.options");
        List<String> expected = ServerJvm.parse(Files.readAllLines(src));
        if (System.getenv(ServerJvm.ENV) == null) assertEquals(expected, ServerJvm.options());
        assertTrue(expected.stream().anyMatch(o -> o.startsWith("-Xmx")), "a bounded heap");
        List<String> cmd = ServerJvm.serverCommand();
        assertEquals(List.of(Main.class.getName(), "server"), cmd.subList(cmd.size() - 2, cmd.size()));
    }

    @Test
    void benchCompareStartsMembersWithTheServerOptions() {
        // Regression: compare once hard-coded "-XX:+UseG1GC -Xmx1g", so the shipped options were never measured.
        List<String> cmd = BenchCommand.compareServerCommand();
        assertEquals(ServerJvm.serverCommand(), cmd);
        if (System.getenv(ServerJvm.ENV) == null) {
            assertTrue(cmd.containsAll(ServerJvm.options()), cmd.toString());
        }
    }
}
