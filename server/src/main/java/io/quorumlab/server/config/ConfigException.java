package io.quorumlab.server.config;

/**
 * The server's configuration could not be built. The message is meant for the operator as is (the CLI
 * prints it and exits non-zero); where etcd has a well-known message, this uses the same words.
 *
 * <p>{@code --help} and {@code --version} also end parsing with this exception, with a {@link #reason()}
 * other than {@link Reason#INVALID}, so the caller can print usage or the version and exit 0.
 */
public final class ConfigException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why parsing stopped. */
    public enum Reason {
        /** A flag, environment variable, config file or combination of values is invalid. */
        INVALID,
        /** {@code -h}, {@code --help} or {@code -help} was given. */
        HELP_REQUESTED,
        /** {@code --version} was given. */
        VERSION_REQUESTED
    }

    private final Reason reason;

    public ConfigException(String message) {
        this(Reason.INVALID, message, null);
    }

    public ConfigException(String message, Throwable cause) {
        this(Reason.INVALID, message, cause);
    }

    public ConfigException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
