package io.quorumlab.cli;

import io.quorumlab.bench.disk.DiskProbe;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code quorumlab disk probe --dir PATH}: is this disk good enough for etcd's WAL? */
@Command(name = "disk", mixinStandardHelpOptions = true, description = "Measure a disk the way etcd's WAL uses it.",
        subcommands = {DiskCommand.Probe.class})
final class DiskCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "probe", mixinStandardHelpOptions = true,
            description = "Sequential WAL-sized writes + fdatasync: fdatasync and write() latency percentiles, syncs/s, verdict, "
                    + "and a simulator profile.")
    static final class Probe implements Callable<Integer> {
        @Option(names = "--dir", required = true, description = "directory on the disk under test")
        Path dir;
        @Option(names = "--seconds", defaultValue = "10")
        double seconds;
        @Option(names = "--write-bytes", defaultValue = "2300", description = "bytes per write (fio's etcd test uses 2300)")
        int writeBytes;
        @Option(names = "--noise", description = "run a competing buffered writer on the same disk (the stacked case)")
        boolean noise;
        @Option(names = "--noise-mbps", defaultValue = "100")
        int noiseMBps;
        @Option(names = "--profile-out", description = "write a disk profile for `quorumlab sim --etcd-disk measured:FILE`")
        Path profileOut;
        @Option(names = "--output", defaultValue = "text", description = "text | json")
        String output;

        @Override
        public Integer call() throws Exception {
            DiskProbe.Result r = DiskProbe.run(new DiskProbe.Spec(dir, writeBytes, (long) (seconds * 1e9), 64L << 20, noise,
                    noiseMBps));
            System.out.print("json".equals(output) ? r.json() + "\n" : r.table());
            if (profileOut != null) {
                try (OutputStream out = Files.newOutputStream(profileOut)) {
                    r.profile().store(out, "quorumlab disk probe of " + dir);
                }
                if (!"json".equals(output)) System.out.println("  profile     " + profileOut + " (use: --etcd-disk measured:" + profileOut + ")");
            }
            return 0;
        }
    }
}
