package io.quorumlab.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {
    @Test
    void helpListsTheCommandAndExitsZero() {
        CommandLine cmd = Main.commandLine();
        StringWriter out = new StringWriter();
        cmd.setOut(new PrintWriter(out));
        int code = cmd.execute("--help");
        assertEquals(0, code);
        assertTrue(out.toString().contains("Usage: quorumlab"), out.toString());
    }

    @Test
    void unknownOptionIsAnErrorNotACrash() {
        CommandLine cmd = Main.commandLine();
        cmd.setErr(new PrintWriter(new StringWriter()));
        assertEquals(2, cmd.execute("--no-such-flag"));
    }
}
