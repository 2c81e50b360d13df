package io.quorumlab.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The command line of a server process, with the JVM options of {@code server-jvm.options} (the
 * same file the {@code ./quorumlab} launcher reads), so that `cluster up`, `bench compare` and the
 * demo run members exactly as `quorumlab server` does.
 */
final class ServerJvm {
    static final String ENV = "QUORUMLAB_SERVER_JAVA_OPTS";

    private ServerJvm() {}

    /** JVM options: {@value #ENV} if set, else the bundled file. */
    static List<String> options() {
        String env = System.getenv(ENV);
        if (env != null && !env.isBlank()) return Arrays.asList(env.trim().split("\\s+"));
        try (InputStream in = ServerJvm.class.getResourceAsStream("server-jvm.options")) {
            if (in == null) throw new IllegalStateException("server-jvm.options missing from the distribution");
            return parse(new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).lines().toList());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<String> parse(List<String> lines) {
        List<String> out = new ArrayList<>();
        for (String l : lines) {
            String t = l.strip();
            if (!t.isEmpty() && !t.startsWith("#")) out.add(t);
        }
        return out;
    }

    /** {@code java <options> -cp <this distribution> io.quorumlab.cli.Main server}; add the server's flags after it. */
    static List<String> serverCommand() {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(options());
        cmd.add("-cp");
        cmd.add(classPath());
        cmd.add(Main.class.getName());
        cmd.add("server");
        return cmd;
    }

    /**
     * The distribution jar this class came from; when it came from a classes directory (tests, an
     * IDE) that directory lacks the dependencies, so this JVM's own class path is used instead.
     */
    private static String classPath() {
        try {
            Path p = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (java.nio.file.Files.isRegularFile(p)) return p.toString();
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            // fall through to this JVM's class path
        }
        return System.getProperty("java.class.path");
    }
}
