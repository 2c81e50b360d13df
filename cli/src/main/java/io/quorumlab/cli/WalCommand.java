package io.quorumlab.cli;

import io.quorumlab.wal.WalVerifier;
import io.quorumlab.wal.storage.FileChannelStorage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quorumlab wal verify|repair --wal-dir DIR}: inspect and repair a member's write-ahead log. */
@Command(name = "wal", mixinStandardHelpOptions = true, description = "Inspect or repair a write-ahead log.",
        subcommands = {WalCommand.Verify.class, WalCommand.Repair.class})
final class WalCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "verify", mixinStandardHelpOptions = true, description = "Check every segment's framing and CRC chain; changes nothing.")
    static final class Verify implements Callable<Integer> {
        @Option(names = "--wal-dir", required = true)
        Path dir;

        @Override
        public Integer call() throws Exception {
            if (!Files.isDirectory(dir)) {
                System.err.println("quorumlab wal: no such directory " + dir);
                return 1;
            }
            WalVerifier.Report r = WalVerifier.verify(new FileChannelStorage(dir));
            System.out.println(r.summary());
            return r.status() == WalVerifier.Status.OK ? 0 : 2;
        }
    }

    @Command(name = "repair", mixinStandardHelpOptions = true,
            description = "Cut the log at the first damaged record (the cut bytes are kept in a .broken file).")
    static final class Repair implements Callable<Integer> {
        @Option(names = "--wal-dir", required = true)
        Path dir;

        @Override
        public Integer call() throws Exception {
            if (!Files.isDirectory(dir)) {
                System.err.println("quorumlab wal: no such directory " + dir);
                return 1;
            }
            WalVerifier.RepairReport r = WalVerifier.repair(new FileChannelStorage(dir));
            for (String a : r.actions()) System.out.println(a);
            System.out.println(r.after().summary());
            return 0;
        }
    }
}
