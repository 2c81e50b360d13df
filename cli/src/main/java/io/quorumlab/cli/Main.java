package io.quorumlab.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The single {@code quorumlab} command. Subcommands are added as the modules behind them land. */
@Command(
        name = "quorumlab",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        description = "An etcd-v3-compatible, Raft-replicated key-value server, its simulator and its benchmarks.",
        subcommands = {DemoCommand.class, ServerCommand.class, ClusterCommand.class, BenchCommand.class, DiskCommand.class, SimCommand.class, SnapshotCommand.class, WalCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        if (args.length > 0 && (args[0].equals("sim") || args[0].equals("demo")) && System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            // Simulated members log like real ones; in a simulation only warnings are worth printing.
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
            // Simulated slow fsyncs are the point of the exercise; the summary reports them.
            System.setProperty("org.slf4j.simpleLogger.log.io.quorumlab.wal.Wal", "error");
        }
        System.exit(commandLine().execute(args));
    }

    /** Builds the command tree; tests call this to run subcommands in-process. */
    public static CommandLine commandLine() {
        return new CommandLine(new Main());
    }

    @Override
    public void run() {
        // No subcommand given: show what there is.
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"quorumlab " + (v == null ? "dev" : v), "etcd API 3.4 compatible"};
        }
    }
}
